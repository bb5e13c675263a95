/* The line table of the refinedweb engine, in C: one pass over resiliparse's minimal-HTML rendering.
 *
 * split(rendered: str) -> (texts: list[str], kind: bytes, stats: bytes)
 *
 *   texts  the visible text of every line that has a visible character: tags and link marks removed, entities
 *          kept as written, surrounding white space (str.isspace) stripped;
 *   kind   int64 per line: index into blocks.KINDS (the block element the line starts with; else "cell" for a line
 *          with a tab, a table row, and "text");
 *   stats  float64 (lines, N_STATS) row-major, the columns of blocks.STATS.
 *
 * The contract is the one documented in blocks.py (``split_lines``); this file only makes it cheap: the Python
 * version it replaces spent more time per page in numpy calls than lexbor spends rendering the page.
 *
 * Reading the rendering: a tag runs from '<' to the next '>' (the rendering escapes '<' in text, so a '<' in it
 * always opens a tag; a '<' without a closing '>' is text). "<a " opens a link, "</a>" closes it; a link also ends
 * with its line. A newline ends a line; a newline inside a tag does not.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Character categories (the same as blocks.py's documentation of the columns). */
enum { UNCOUNTED, SPACE, TAB, OTHER, PUNCT_END, PUNCT, DIGIT, CJK, SEP, N_CAT };

/* Columns of the stats rows: blocks.STATS. */
enum { S_CHARS, S_WORDS, S_LINK, S_PUNCT, S_DIGITS, S_CJK, S_SEPS, S_ENDS, S_GAP, N_STATS };

/* Kinds: indexes into blocks.KINDS = ("text", "p", "h1".."h6", "li", "pre", "cell"). */
enum { K_NONE = -1, K_TEXT = 0, K_P = 1, K_H1 = 2, K_LI = 8, K_PRE = 9, K_CELL = 10 };

static inline int category(Py_UCS4 c) {
    switch (c) {
    case '\n': case 1: case 2: return UNCOUNTED;
    case ' ': case '\r': case 0x00a0: case 0x3000: return SPACE;
    case '\t': return TAB;
    case ',': case ';': case ':': case 0xff0c: case 0x3001: case 0xff1b: case 0xff1a: return PUNCT;
    case '.': case '!': case '?': case 0x3002: case 0xff01: case 0xff1f: return PUNCT_END;
    case '|': case 0x00b7: case 0x00bb: case 0x203a: case '/': return SEP;
    default: break;
    }
    if (c >= '0' && c <= '9') return DIGIT;
    if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
        (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff))
        return CJK;
    return OTHER;
}

static inline int ends_sentence(Py_UCS4 c) {
    switch (c) {
    case '.': case '!': case '?': case 0x3002: case 0xff01: case 0xff1f:
    case '"': case '\'': case 0x201d: case 0x300d: case ')': return 1;
    default: return 0;
    }
}

/* Growable buffers. */
typedef struct { void *data; Py_ssize_t len, cap, item; } Vec;

static int vec_reserve(Vec *v, Py_ssize_t extra) {
    if (v->len + extra <= v->cap) return 0;
    Py_ssize_t cap = v->cap ? v->cap : 64;
    while (cap < v->len + extra) cap *= 2;
    void *p = PyMem_Realloc(v->data, (size_t)cap * (size_t)v->item);
    if (!p) { PyErr_NoMemory(); return -1; }
    v->data = p; v->cap = cap;
    return 0;
}

/* The kind of block element a line starts with: its first three characters after leading white space. */
static int line_kind(int ukind, const void *data, Py_ssize_t i, Py_ssize_t end) {
    Py_UCS4 c;
    while (i < end && (c = PyUnicode_READ(ukind, data, i)) != '\n' && Py_UNICODE_ISSPACE(c)) i++;
    if (end - i < 3 || PyUnicode_READ(ukind, data, i) != '<') return K_NONE;
    Py_UCS4 a = PyUnicode_READ(ukind, data, i + 1), b = PyUnicode_READ(ukind, data, i + 2);
    if (a == 'p' && b == '>') return K_P;
    if (a == 'p' && b == 'r') return K_PRE;
    if (a == 'l' && b == 'i') return K_LI;
    if (a == 'h' && b >= '1' && b <= '6') return K_H1 + (int)(b - '1');
    return K_NONE;
}

static PyObject *split(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "split() needs a str");
        return NULL;
    }
    const int ukind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);

    PyObject *texts = PyList_New(0);
    Vec kinds = {NULL, 0, 0, sizeof(int64_t)}, stats = {NULL, 0, 0, sizeof(double)};
    Vec text = {NULL, 0, 0, sizeof(Py_UCS4)};
    if (!texts) return NULL;

    Py_ssize_t i = 0;
    int prev_empty = 0, first = 1;
    while (i <= n) {
        /* One line: [i, end). */
        Py_ssize_t end = i;
        int64_t count[N_CAT] = {0};
        double link_chars = 0;
        int in_link = 0;
        int kind = line_kind(ukind, data, i, n);
        text.len = 0;
        Py_ssize_t j = i;
        while (j < n) {
            Py_UCS4 c = PyUnicode_READ(ukind, data, j);
            if (c == '\n') break;
            if (c == '<') {
                Py_ssize_t k = j + 1;
                while (k < n && PyUnicode_READ(ukind, data, k) != '>') k++;
                if (k < n) { /* a tag: [j, k] */
                    if (k - j >= 2 && PyUnicode_READ(ukind, data, j + 1) == 'a' &&
                        PyUnicode_READ(ukind, data, j + 2) == ' ')
                        in_link = 1;
                    else if (k - j == 3 && PyUnicode_READ(ukind, data, j + 1) == '/' &&
                             PyUnicode_READ(ukind, data, j + 2) == 'a')
                        in_link = 0;
                    j = k + 1;
                    continue;
                }
            }
            if (c == 1 || c == 2) { j++; continue; } /* the page's own control characters: dropped */
            count[category(c)]++;
            if (in_link) link_chars += 1;
            if (vec_reserve(&text, 1) < 0) goto fail;
            ((Py_UCS4 *)text.data)[text.len++] = c;
            j++;
        }
        end = j;
        int64_t chars = count[OTHER] + count[PUNCT_END] + count[PUNCT] + count[DIGIT] + count[CJK] + count[SEP];
        if (chars > 0) {
            Py_UCS4 *t = (Py_UCS4 *)text.data;
            Py_ssize_t lo = 0, hi = text.len;
            while (lo < hi && Py_UNICODE_ISSPACE(t[lo])) lo++;
            while (hi > lo && Py_UNICODE_ISSPACE(t[hi - 1])) hi--;
            PyObject *s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, t + lo, hi - lo);
            if (!s || PyList_Append(texts, s) < 0) { Py_XDECREF(s); goto fail; }
            Py_DECREF(s);
            if (vec_reserve(&kinds, 1) < 0 || vec_reserve(&stats, N_STATS) < 0) goto fail;
            ((int64_t *)kinds.data)[kinds.len++] = kind != K_NONE ? kind : count[TAB] > 0 ? K_CELL : K_TEXT;
            double *row = (double *)stats.data + stats.len;
            stats.len += N_STATS;
            row[S_CHARS] = (double)chars;
            row[S_WORDS] = (double)count[SPACE] + 1.0 + 0.5 * (double)count[CJK];
            row[S_LINK] = link_chars;
            row[S_PUNCT] = (double)(count[PUNCT] + count[PUNCT_END]);
            row[S_DIGITS] = (double)count[DIGIT];
            row[S_CJK] = (double)count[CJK];
            row[S_SEPS] = (double)count[SEP];
            row[S_ENDS] = (double)ends_sentence(t[hi - 1]);
            row[S_GAP] = (double)(!first && prev_empty);
        }
        prev_empty = chars == 0;
        first = 0;
        i = end + 1;
    }
    PyMem_Free(text.data);
    PyObject *kb = PyBytes_FromStringAndSize(kinds.data, kinds.len * (Py_ssize_t)sizeof(int64_t));
    PyObject *sb = PyBytes_FromStringAndSize(stats.data, stats.len * (Py_ssize_t)sizeof(double));
    PyMem_Free(kinds.data);
    PyMem_Free(stats.data);
    if (!kb || !sb) { Py_XDECREF(kb); Py_XDECREF(sb); Py_DECREF(texts); return NULL; }
    return Py_BuildValue("(NNN)", texts, kb, sb);
fail:
    PyMem_Free(text.data);
    PyMem_Free(kinds.data);
    PyMem_Free(stats.data);
    Py_DECREF(texts);
    return NULL;
}

static PyMethodDef methods[] = {
    {"split", split, METH_O,
     "split(rendered) -> (texts, kind: bytes of int64, stats: bytes of float64 rows); see blocks.split_lines"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_linetable", NULL, -1, methods};

PyMODINIT_FUNC PyInit__linetable(void) { return PyModule_Create(&module); }
