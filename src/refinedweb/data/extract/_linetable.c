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
#include <math.h>
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
static Py_ALWAYS_INLINE inline int line_kind(const int ukind, const void *data, Py_ssize_t i, Py_ssize_t end) {
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

/* split() for one string kind (1, 2 or 4 bytes a character): always inlined with a constant kind, so the
 * character reads compile to plain loads. A line's text is collected in the input's own kind. */
static Py_ALWAYS_INLINE inline PyObject *split_kind(PyObject *arg, const int ukind) {
    const void *data = PyUnicode_DATA(arg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);

    PyObject *texts = PyList_New(0);
    Vec kinds = {NULL, 0, 0, sizeof(int64_t)}, stats = {NULL, 0, 0, sizeof(double)};
    Vec text = {NULL, 0, 0, ukind};
    if (!texts) return NULL;
    if (vec_reserve(&text, n + 1) < 0) goto fail; /* a line is never longer than the page */

    Py_ssize_t i = 0, gt = -1; /* gt: the first '>' at or after the current '<' (n: none left in the page) */
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
                /* Remembered between tags, so that a page of '<' without '>' is read once, not once per '<'. */
                if (gt <= j) {
                    gt = j + 1;
                    while (gt < n && PyUnicode_READ(ukind, data, gt) != '>') gt++;
                }
                const Py_ssize_t k = gt;
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
            PyUnicode_WRITE(ukind, text.data, text.len, c);
            text.len++;
            j++;
        }
        end = j;
        int64_t chars = count[OTHER] + count[PUNCT_END] + count[PUNCT] + count[DIGIT] + count[CJK] + count[SEP];
        const void *t = text.data;
        Py_ssize_t lo = 0, hi = text.len;
        if (chars > 0) {
            /* Trimmed by str.isspace, which also knows spaces that count as OTHER (U+2003, \v, \x1c..): a line of
             * only those has no visible character, so it is an empty line. */
            while (lo < hi && Py_UNICODE_ISSPACE(PyUnicode_READ(ukind, t, lo))) lo++;
            while (hi > lo && Py_UNICODE_ISSPACE(PyUnicode_READ(ukind, t, hi - 1))) hi--;
            if (hi == lo) chars = 0;
        }
        if (chars > 0) {
            PyObject *s = PyUnicode_FromKindAndData(ukind, (const char *)t + lo * ukind, hi - lo);
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
            row[S_ENDS] = (double)ends_sentence(PyUnicode_READ(ukind, t, hi - 1));
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

static PyObject *split(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "split() needs a str");
        return NULL;
    }
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND: return split_kind(arg, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND: return split_kind(arg, PyUnicode_2BYTE_KIND);
    default: return split_kind(arg, PyUnicode_4BYTE_KIND);
    }
}


/* features(stats, kind, flags, boilerplate, n_kinds, li_kind, windows, mass_windows) -> bytes
 *
 * The numeric part of features.block_features, as a float64 (lines, columns) row-major matrix: see that function
 * for the columns and their order. stats is the line table (float64 rows of N_STATS), kind the int64 kinds, flags
 * the float64 per-line repetition + 2 * title-match codes, boilerplate the float64 per-line boilerplate hits; the
 * windows are the half-widths of the context means and of the text-mass sums.
 */
#define MAX_WINDOWS 8
#define MAX_WINDOW ((Py_ssize_t)1 << 40)
enum { N_CONTEXT = 4 };

static int read_windows(PyObject *tuple, Py_ssize_t *out, Py_ssize_t *count) {
    *count = PyTuple_GET_SIZE(tuple);
    if (*count > MAX_WINDOWS) { PyErr_SetString(PyExc_ValueError, "too many windows"); return -1; }
    for (Py_ssize_t k = 0; k < *count; k++) {
        out[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(tuple, k));
        if (out[k] < 0) { if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "negative window"); return -1; }
        /* Bounded so that i + window + 1 cannot overflow. */
        if (out[k] > MAX_WINDOW) { PyErr_SetString(PyExc_ValueError, "window too large"); return -1; }
    }
    return 0;
}

static PyObject *features(PyObject *self, PyObject *args) {
    Py_buffer st, kd, fl, bp;
    int n_kinds, li_kind;
    PyObject *win_tuple, *mass_tuple, *result = NULL;
    double *ctx_sum = NULL, *mass_sum = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iiO!O!", &st, &kd, &fl, &bp, &n_kinds, &li_kind, &PyTuple_Type, &win_tuple,
                          &PyTuple_Type, &mass_tuple))
        return NULL;
    Py_ssize_t wins[MAX_WINDOWS], mwins[MAX_WINDOWS], n_win, n_mass;
    const Py_ssize_t n = kd.len / (Py_ssize_t)sizeof(int64_t);
    if (read_windows(win_tuple, wins, &n_win) < 0 || read_windows(mass_tuple, mwins, &n_mass) < 0) goto done;
    if (n_kinds < 0 || n_kinds > 64) {
        PyErr_SetString(PyExc_ValueError, "features(): n_kinds out of range");
        goto done;
    }
    if (n == 0 || st.len != n * N_STATS * (Py_ssize_t)sizeof(double) || fl.len != n * (Py_ssize_t)sizeof(double) ||
        bp.len != n * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "features(): empty page or arrays of different lengths");
        goto done;
    }
    const double *stats = st.buf, *flags = fl.buf, *boiler = bp.buf;
    const int64_t *kind = kd.buf;
    const Py_ssize_t n_cols = n_kinds + 3 + 5 + 12 + N_CONTEXT * n_win + 2 + 2 * n_mass;
    result = PyBytes_FromStringAndSize(NULL, n * n_cols * (Py_ssize_t)sizeof(double));
    ctx_sum = PyMem_Calloc((size_t)(n + 1) * N_CONTEXT, sizeof(double));
    mass_sum = PyMem_Calloc((size_t)(n + 1), sizeof(double));
    if (!result || !ctx_sum || !mass_sum) { if (result) Py_CLEAR(result); else PyErr_NoMemory(); goto done; }
    double *x = (double *)PyBytes_AS_STRING(result);
    memset(x, 0, (size_t)(n * n_cols) * sizeof(double));

    /* Prefix sums: words (text mass) and the context columns; page totals; the longest line. */
    Py_ssize_t longest = 0;
    double link_total = 0, chars_total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *s = stats + i * N_STATS;
        double chars1 = s[S_CHARS] > 1.0 ? s[S_CHARS] : 1.0;
        double ctx[N_CONTEXT] = {log1p(s[S_WORDS]), s[S_LINK] / chars1, s[S_ENDS], s[S_PUNCT] / chars1};
        for (int c = 0; c < N_CONTEXT; c++) ctx_sum[(i + 1) * N_CONTEXT + c] = ctx_sum[i * N_CONTEXT + c] + ctx[c];
        mass_sum[i + 1] = mass_sum[i] + s[S_WORDS];
        if (s[S_WORDS] > stats[longest * N_STATS + S_WORDS]) longest = i;
        link_total += s[S_LINK];
        chars_total += s[S_CHARS];
    }
    const double total = mass_sum[n] > 1.0 ? mass_sum[n] : 1.0;
    const double longest_words = stats[longest * N_STATS + S_WORDS] > 1.0 ? stats[longest * N_STATS + S_WORDS] : 1.0;
    const double page_links = link_total / (chars_total > 1.0 ? chars_total : 1.0);
    double mass_peak[MAX_WINDOWS];
    for (Py_ssize_t m = 0; m < n_mass; m++) {
        double peak = 1.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t lo = i - mwins[m] > 0 ? i - mwins[m] : 0, hi = i + mwins[m] + 1 < n ? i + mwins[m] + 1 : n;
            double v = mass_sum[hi] - mass_sum[lo];
            if (v > peak) peak = v;
        }
        mass_peak[m] = peak;
    }

    for (Py_ssize_t i = 0; i < n; i++) {
        const double *s = stats + i * N_STATS;
        double *row = x + i * n_cols;
        double chars1 = s[S_CHARS] > 1.0 ? s[S_CHARS] : 1.0;
        Py_ssize_t c = 0;
        if (kind[i] >= 0 && kind[i] < n_kinds) row[kind[i]] = 1.0;
        c = n_kinds;
        row[c++] = log1p(s[S_CHARS]);
        row[c++] = log1p(s[S_WORDS]);
        row[c++] = log1p(s[S_PUNCT]);
        row[c++] = s[S_LINK] / chars1;
        row[c++] = s[S_PUNCT] / chars1;
        row[c++] = s[S_DIGITS] / chars1;
        row[c++] = s[S_CJK] / chars1;
        row[c++] = s[S_SEPS] / chars1;
        row[c++] = s[S_ENDS];
        row[c++] = s[S_GAP];
        row[c++] = kind[i] == li_kind;
        row[c++] = fmod(flags[i], 2.0);
        row[c++] = floor(flags[i] / 2.0);
        row[c++] = boiler[i];
        row[c++] = s[S_WORDS] / longest_words;
        row[c++] = i == longest;
        row[c++] = (double)i / (double)(n - 1 > 1 ? n - 1 : 1);
        row[c++] = mass_sum[i] / total;
        row[c++] = (total - mass_sum[i + 1]) / total;
        row[c++] = (double)(i - longest) / (double)n;
        for (Py_ssize_t w = 0; w < n_win; w++) {
            Py_ssize_t lo = i - wins[w] > 0 ? i - wins[w] : 0, hi = i + wins[w] + 1 < n ? i + wins[w] + 1 : n;
            for (int k = 0; k < N_CONTEXT; k++)
                row[c++] = (ctx_sum[hi * N_CONTEXT + k] - ctx_sum[lo * N_CONTEXT + k]) / (double)(hi - lo);
        }
        row[c++] = log1p(total);
        row[c++] = page_links;
        double mass_window[MAX_WINDOWS];
        for (Py_ssize_t m = 0; m < n_mass; m++) {
            Py_ssize_t lo = i - mwins[m] > 0 ? i - mwins[m] : 0, hi = i + mwins[m] + 1 < n ? i + mwins[m] + 1 : n;
            mass_window[m] = mass_sum[hi] - mass_sum[lo];
            row[c++] = mass_window[m] / total;
        }
        for (Py_ssize_t m = 0; m < n_mass; m++) row[c++] = mass_window[m] / mass_peak[m];
    }
done:
    PyMem_Free(ctx_sum);
    PyMem_Free(mass_sum);
    PyBuffer_Release(&st);
    PyBuffer_Release(&kd);
    PyBuffer_Release(&fl);
    PyBuffer_Release(&bp);
    return result;
}

/* The block classifier's forward pass (scoring.BlockModel), so that a page's score never touches BLAS: a
 * multi-threaded BLAS spends more time waking its threads for these (lines x 56) x 24 products than computing.
 *
 * stage2_inputs(p1, windows) -> bytes: float64 rows of scoring.STAGE2_NAMES (p1, previous line's p1, next line's
 *     p1, p1's means over i-w..i+w for each w, the page's mean p1).
 * logits(x, w1, b1, w2x, w2p, b2, hx, hp, hc, hv, windows) -> bytes: float64 stage-2 log-odds per row of the raw
 *     features x (lines x F): p1 = sigmoid(x.w1 + b1); s = stage2_inputs(p1, expm1(x[:, words_col]));
 *     z = x.w2x + s.w2p + b2 + tanh(x.hx + s.hp + hc).hv  (hx: F x H, hp: S x H, row-major; H = 0 for none).
 */
/* tanh through one exp: libm's tanh costs several times exp, and the hidden layer takes 24 per line. Exact to
 * rounding away from 0; near 0 the absolute error is about 1e-16. */
static inline double fast_tanh(double a) {
    if (a > 20.0) return 1.0;
    if (a < -20.0) return -1.0;
    return 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
}

/* y += a * x; restrict lets the compiler vectorise it. */
static inline void axpy(double *restrict y, double a, const double *restrict x, Py_ssize_t n) {
    for (Py_ssize_t u = 0; u < n; u++) y[u] += a * x[u];
}

/* A line's weight in the best runs, the keep rule and stage 3: its words, at least 1. */
static inline double line_weight(double words) { return words > 1.0 ? words : 1.0; }

/* The best run of a page: lines a..b (inclusive) maximising sum(score) over contiguous lines (Kadane over prefix
 * sums; the first maximum, and its first start, on ties: the same choice as numpy's argmax / argmin). */
static void best_run(const double *score, Py_ssize_t n, Py_ssize_t *a, Py_ssize_t *b) {
    double csum = 0, min_c = 0, best = -INFINITY;
    Py_ssize_t min_i = 0;
    *a = *b = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        csum += score[j];
        if (csum - min_c > best) { best = csum - min_c; *a = min_i; *b = j; }
        if (csum < min_c) { min_c = csum; min_i = j + 1; }
    }
}

/* Stage 2's inputs (scoring.STAGE2_NAMES): p1, its neighbours, centred means over the windows, the page mean;
 * the means of the STAGE2_SIDES lines before and after the line (the line excluded; 0 lines: 0); where the line
 * lies relative to the page's best run of stage-1 main text (before, after, signed log1p distance in lines), that
 * run's mean p1 and the line's p1 minus it; the word-weighted page mean. words: word-equivalents per line. */
static void stage2_fill(const double *p1, const double *words, Py_ssize_t n, const Py_ssize_t *wins, Py_ssize_t n_win,
                        const Py_ssize_t *sides, Py_ssize_t n_side, double *out) {
    const Py_ssize_t n_s = 3 + n_win + 1 + 2 * n_side + 6;
    double *csum = PyMem_Malloc((size_t)(n + 1) * sizeof(double));
    double *run = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(double));
    double mean = 0, wsum = 0, pw = 0, run_mean = 0;
    Py_ssize_t a, b;
    if (!csum || !run) { PyMem_Free(csum); PyMem_Free(run); PyErr_NoMemory(); return; }
    csum[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double w = line_weight(words[i]);
        csum[i + 1] = csum[i] + p1[i];
        run[i] = (p1[i] - 0.5) * w;
        wsum += words[i];
        pw += p1[i] * words[i];
    }
    mean = csum[n] / (double)n;
    best_run(run, n, &a, &b);
    run_mean = (csum[b + 1] - csum[a]) / (double)(b + 1 - a);
    for (Py_ssize_t i = 0; i < n; i++) {
        double *row = out + i * n_s;
        row[0] = p1[i];
        row[1] = i > 0 ? p1[i - 1] : 0.0;
        row[2] = i + 1 < n ? p1[i + 1] : 0.0;
        for (Py_ssize_t w = 0; w < n_win; w++) {
            Py_ssize_t lo = i - wins[w] > 0 ? i - wins[w] : 0, hi = i + wins[w] + 1 < n ? i + wins[w] + 1 : n;
            row[3 + w] = (csum[hi] - csum[lo]) / (double)(hi - lo);
        }
        row[3 + n_win] = mean;
        double *side = row + 4 + n_win;
        for (Py_ssize_t k = 0; k < n_side; k++) {
            Py_ssize_t lo = i - sides[k] > 0 ? i - sides[k] : 0, hi = i + sides[k] + 1 < n ? i + sides[k] + 1 : n;
            side[2 * k] = (csum[i] - csum[lo]) / (double)(i - lo > 1 ? i - lo : 1);
            side[2 * k + 1] = (csum[hi] - csum[i + 1]) / (double)(hi - i - 1 > 1 ? hi - i - 1 : 1);
        }
        double *rel = side + 2 * n_side;
        rel[0] = i < a ? 1.0 : 0.0;
        rel[1] = i > b ? 1.0 : 0.0;
        rel[2] = i < a ? -log1p((double)(a - i)) : (i > b ? log1p((double)(i - b)) : 0.0);
        rel[3] = run_mean;
        rel[4] = p1[i] - run_mean;
        rel[5] = pw / (wsum > 1.0 ? wsum : 1.0);
    }
    PyMem_Free(csum);
    PyMem_Free(run);
}

static PyObject *stage2_inputs(PyObject *self, PyObject *args) {
    Py_buffer pb, wb;
    PyObject *win_tuple, *side_tuple, *result = NULL;
    Py_ssize_t wins[MAX_WINDOWS], sides[MAX_WINDOWS], n_win, n_side;
    if (!PyArg_ParseTuple(args, "y*y*O!O!", &pb, &wb, &PyTuple_Type, &win_tuple, &PyTuple_Type, &side_tuple))
        return NULL;
    const Py_ssize_t n = pb.len / (Py_ssize_t)sizeof(double);
    if (wb.len != pb.len) {
        PyErr_SetString(PyExc_ValueError, "stage2_inputs(): one word count per line");
    } else if (read_windows(win_tuple, wins, &n_win) == 0 && read_windows(side_tuple, sides, &n_side) == 0 && n > 0) {
        result = PyBytes_FromStringAndSize(NULL, n * (10 + n_win + 2 * n_side) * (Py_ssize_t)sizeof(double));
        if (result) {
            stage2_fill(pb.buf, wb.buf, n, wins, n_win, sides, n_side, (double *)PyBytes_AS_STRING(result));
            if (PyErr_Occurred()) Py_CLEAR(result);
        }
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "stage2_inputs(): no lines");
    }
    PyBuffer_Release(&pb);
    PyBuffer_Release(&wb);
    return result;
}

static PyObject *logits(PyObject *self, PyObject *args) {
    Py_buffer xb, w1b, w2xb, w2pb, hxb, hpb, hcb, hvb;
    double b1, b2;
    PyObject *win_tuple, *side_tuple, *result = NULL;
    double *p1 = NULL, *s2 = NULL, *words = NULL;
    Py_ssize_t wins[MAX_WINDOWS], sides[MAX_WINDOWS], n_win, n_side, words_col;
    if (!PyArg_ParseTuple(args, "y*y*dy*y*dy*y*y*y*O!O!n", &xb, &w1b, &b1, &w2xb, &w2pb, &b2, &hxb, &hpb, &hcb, &hvb,
                          &PyTuple_Type, &win_tuple, &PyTuple_Type, &side_tuple, &words_col))
        return NULL;
    const Py_ssize_t f = w1b.len / (Py_ssize_t)sizeof(double);
    const Py_ssize_t n = f ? xb.len / (Py_ssize_t)sizeof(double) / f : 0;
    const Py_ssize_t h = hcb.len / (Py_ssize_t)sizeof(double);
    if (read_windows(win_tuple, wins, &n_win) < 0 || read_windows(side_tuple, sides, &n_side) < 0) goto done;
    const Py_ssize_t n_s = 10 + n_win + 2 * n_side;
    if (n == 0 || words_col < 0 || words_col >= f || xb.len != n * f * (Py_ssize_t)sizeof(double) || w2xb.len != w1b.len ||
        w2pb.len != n_s * (Py_ssize_t)sizeof(double) || hxb.len != f * h * (Py_ssize_t)sizeof(double) ||
        hpb.len != n_s * h * (Py_ssize_t)sizeof(double) || hvb.len != hcb.len) {
        PyErr_SetString(PyExc_ValueError, "logits(): no lines or weights of the wrong shape");
        goto done;
    }
    const double *x = xb.buf, *w1 = w1b.buf, *w2x = w2xb.buf, *w2p = w2pb.buf;
    const double *hx = hxb.buf, *hp = hpb.buf, *hc = hcb.buf, *hv = hvb.buf;
    p1 = PyMem_Malloc((size_t)n * sizeof(double));
    s2 = PyMem_Malloc((size_t)(n * n_s) * sizeof(double));
    words = PyMem_Malloc((size_t)n * sizeof(double));
    double *act = PyMem_Malloc((size_t)(h ? h : 1) * sizeof(double));
    result = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(double));
    if (!p1 || !s2 || !words || !act || !result) {
        PyMem_Free(act);
        if (result) Py_CLEAR(result); else PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = x + i * f;
        double z = b1;
        for (Py_ssize_t k = 0; k < f; k++) z += row[k] * w1[k];
        p1[i] = 0.5 + 0.5 * fast_tanh(0.5 * z);
        words[i] = expm1(row[words_col]);
    }
    stage2_fill(p1, words, n, wins, n_win, sides, n_side, s2);
    if (PyErr_Occurred()) { PyMem_Free(act); Py_CLEAR(result); goto done; }
    double *out = (double *)PyBytes_AS_STRING(result);
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = x + i * f, *srow = s2 + i * n_s;
        double z = b2;
        for (Py_ssize_t k = 0; k < f; k++) z += row[k] * w2x[k];
        for (Py_ssize_t k = 0; k < n_s; k++) z += srow[k] * w2p[k];
        if (h) {
            for (Py_ssize_t u = 0; u < h; u++) act[u] = hc[u];
            for (Py_ssize_t k = 0; k < f; k++) {
                const double v = row[k], *hrow = hx + k * h;
                if (v != 0.0) axpy(act, v, hrow, h);
            }
            for (Py_ssize_t k = 0; k < n_s; k++) {
                axpy(act, srow[k], hp + k * h, h);
            }
            for (Py_ssize_t u = 0; u < h; u++) z += fast_tanh(act[u]) * hv[u];
        }
        out[i] = z;
    }
    PyMem_Free(act);
done:
    PyMem_Free(p1);
    PyMem_Free(s2);
    PyMem_Free(words);
    PyBuffer_Release(&xb);
    PyBuffer_Release(&w1b);
    PyBuffer_Release(&w2xb);
    PyBuffer_Release(&w2pb);
    PyBuffer_Release(&hxb);
    PyBuffer_Release(&hpb);
    PyBuffer_Release(&hcb);
    PyBuffer_Release(&hvb);
    return result;
}

/* The page's best subtree: the container whose lines and descendants' lines maximise the sum of score (the
 * document itself only when it is the only container); inside[c] = 1 for it and its descendants. Containers are
 * numbered in document order (a parent before its children). Returns -1 on a container number out of range. */
static int best_subtree(const double *score, const int32_t *cont, Py_ssize_t n, const int32_t *par, Py_ssize_t m,
                        double *sum, unsigned char *inside) {
    for (Py_ssize_t c = 0; c < m; c++) { sum[c] = 0; inside[c] = 0; }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (cont[i] < 0 || cont[i] >= m) return -1;
        sum[cont[i]] += score[i];
    }
    for (Py_ssize_t c = m - 1; c > 0; c--)
        if (par[c] >= 0 && par[c] < c) sum[par[c]] += sum[c];
    Py_ssize_t best = m > 1 ? 1 : 0;
    for (Py_ssize_t c = best + 1; c < m; c++) if (sum[c] > sum[best]) best = c;
    inside[best] = 1;
    for (Py_ssize_t c = best + 1; c < m; c++) if (par[c] >= 0 && par[c] < c && inside[par[c]]) inside[c] = 1;
    return 0;
}

/* stage3_inputs(p2, words, containers, parents, margin_a, margin_b) -> bytes f64[n * 7]
 *
 * Per line, from stage 2's probability p2 (scoring.STAGE3_NAMES): its log-odds (p clipped to [1e-6, 1 - 1e-6]); for
 * each margin, whether the line is inside the page's best subtree at that margin (see keep_lines) and p2 minus
 * that subtree's word-weighted mean (the page's plain mean when no line is inside); the word-weighted mean p2 of
 * the line's container and of that container's parent, each over its lines and its descendants' lines.
 * Weights are max(words, 1).
 */
#define N_S3 7
static PyObject *stage3_inputs(PyObject *self, PyObject *args) {
    Py_buffer pb2, wb, cb, pb;
    double margins[2];
    PyObject *result = NULL;
    double *score = NULL, *sum = NULL, *S = NULL, *Wt = NULL, *out = NULL;
    unsigned char *inside = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*dd", &pb2, &wb, &cb, &pb, &margins[0], &margins[1])) return NULL;
    const Py_ssize_t n = pb2.len / (Py_ssize_t)sizeof(double), m = pb.len / (Py_ssize_t)sizeof(int32_t);
    if (wb.len != pb2.len || cb.len != n * (Py_ssize_t)sizeof(int32_t) || m < 1) {
        PyErr_SetString(PyExc_ValueError, "stage3_inputs(): arrays of mismatched sizes");
        goto done;
    }
    const double *p = pb2.buf, *words = wb.buf;
    const int32_t *cont = cb.buf, *par = pb.buf;
    score = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(double));
    sum = PyMem_Malloc((size_t)m * sizeof(double)); S = PyMem_Calloc((size_t)m, sizeof(double));
    Wt = PyMem_Calloc((size_t)m, sizeof(double)); inside = PyMem_Malloc((size_t)m);
    out = PyMem_Malloc((size_t)(n * N_S3 + 1) * sizeof(double));
    if (!score || !sum || !S || !Wt || !inside || !out) { PyErr_NoMemory(); goto done; }
    double page = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (cont[i] < 0 || cont[i] >= m) {
            PyErr_SetString(PyExc_ValueError, "stage3_inputs(): a container number out of range");
            goto done;
        }
        const double w = line_weight(words[i]), q = p[i] < 1e-6 ? 1e-6 : (p[i] > 1 - 1e-6 ? 1 - 1e-6 : p[i]);
        out[i * N_S3] = log(q / (1 - q));
        S[cont[i]] += p[i] * w; Wt[cont[i]] += w; page += p[i];
    }
    if (n) page /= (double)n;
    for (int k = 0; k < 2; k++) {
        for (Py_ssize_t i = 0; i < n; i++) score[i] = (p[i] - margins[k]) * line_weight(words[i]);
        best_subtree(score, cont, n, par, m, sum, inside);
        double pw = 0, ws = 0;
        for (Py_ssize_t i = 0; i < n; i++)
            if (inside[cont[i]]) { const double w = line_weight(words[i]); pw += p[i] * w; ws += w; }
        const double mean = ws > 0 ? pw / ws : page;
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i * N_S3 + 1 + 2 * k] = inside[cont[i]] ? 1.0 : 0.0;
            out[i * N_S3 + 2 + 2 * k] = p[i] - mean;
        }
    }
    for (Py_ssize_t c = m - 1; c > 0; c--)
        if (par[c] >= 0 && par[c] < c) { S[par[c]] += S[c]; Wt[par[c]] += Wt[c]; }
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t c0 = cont[i], c1 = (par[c0] >= 0 && par[c0] < c0) ? par[c0] : c0;
        out[i * N_S3 + 5] = S[c0] / (Wt[c0] > 1e-9 ? Wt[c0] : 1e-9);
        out[i * N_S3 + 6] = S[c1] / (Wt[c1] > 1e-9 ? Wt[c1] : 1e-9);
    }
    result = PyBytes_FromStringAndSize((const char *)out, n * N_S3 * (Py_ssize_t)sizeof(double));
done:
    PyMem_Free(score); PyMem_Free(sum); PyMem_Free(S); PyMem_Free(Wt); PyMem_Free(inside); PyMem_Free(out);
    PyBuffer_Release(&pb2); PyBuffer_Release(&wb); PyBuffer_Release(&cb); PyBuffer_Release(&pb);
    return result;
}

/* keep_lines(z, x, n_feat, words_col, threshold, ratio[, containers, parents, tree_margin, tree_ratio]) -> bytes
 *
 * uint8 per line: 1 when the line's stage-2 probability p = sigmoid(z) reaches threshold and, for a line outside
 * the page's best run of kept text (lines a..b maximising the sum of (p - threshold) * max(words, 1)), also reaches
 * ratio times that run's word-weighted mean p. words = expm1(x[:, words_col]). ratio 0: p >= threshold alone.
 * With containers (int32 per line) and parents (int32 per container, blocks.Rendering) and tree_ratio > 0, a line
 * outside the page's best subtree (the container maximising the sum of (p - tree_margin) * max(words, 1) over its
 * lines and its descendants' lines) must also reach tree_ratio times that subtree's word-weighted mean p.
 */
static PyObject *keep_lines(PyObject *self, PyObject *args) {
    Py_buffer zb, xb, cb = {0}, pb = {0};
    Py_ssize_t f, words_col;
    double t, q, margin = 0.0, tq = 0.0;
    PyObject *result = NULL;
    double *p = NULL, *sum = NULL;
    unsigned char *inside = NULL;
    if (!PyArg_ParseTuple(args, "y*y*nndd|y*y*dd", &zb, &xb, &f, &words_col, &t, &q, &cb, &pb, &margin, &tq))
        return NULL;
    const Py_ssize_t n = zb.len / (Py_ssize_t)sizeof(double);
    const Py_ssize_t m = pb.buf ? pb.len / (Py_ssize_t)sizeof(int32_t) : 0;
    if (n == 0 || f <= 0 || words_col < 0 || words_col >= f || xb.len != n * f * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "keep_lines(): no lines or features of the wrong shape");
        goto done;
    }
    const int tree = tq > 0 && cb.buf && pb.buf;
    if (tree && (cb.len != n * (Py_ssize_t)sizeof(int32_t) || m < 1)) {
        PyErr_SetString(PyExc_ValueError,
                        "keep_lines(): containers must give one int32 per line, parents at least one");
        goto done;
    }
    const double *z = zb.buf, *x = xb.buf;
    p = PyMem_Malloc((size_t)(3 * n) * sizeof(double)); /* p, then the words, then the run scores */
    if (tree) { sum = PyMem_Malloc((size_t)m * sizeof(double)); inside = PyMem_Malloc((size_t)m); }
    result = PyBytes_FromStringAndSize(NULL, n);
    if (!p || !result || (tree && (!sum || !inside))) { if (result) Py_CLEAR(result); PyErr_NoMemory(); goto done; }
    double *w = p + n, *score = p + 2 * n;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    for (Py_ssize_t i = 0; i < n; i++) {
        const double words = expm1(x[i * f + words_col]);
        p[i] = 0.5 + 0.5 * tanh(0.5 * z[i]);
        w[i] = line_weight(words);
        score[i] = (p[i] - t) * w[i];
    }
    double cut = t;
    Py_ssize_t a = 0, b = n - 1;
    if (q > 0) {
        double pw = 0, ws = 0;
        best_run(score, n, &a, &b);
        for (Py_ssize_t i = a; i <= b; i++) { pw += p[i] * w[i]; ws += w[i]; }
        if (q * pw / ws > t) cut = q * pw / ws;
    }
    for (Py_ssize_t i = 0; i < n; i++) out[i] = p[i] >= t && (p[i] >= cut || (i >= a && i <= b));
    if (tree) {
        const int32_t *cont = cb.buf, *par = pb.buf;
        for (Py_ssize_t i = 0; i < n; i++) score[i] = (p[i] - margin) * w[i];
        if (best_subtree(score, cont, n, par, m, sum, inside) < 0) {
            PyErr_SetString(PyExc_ValueError, "keep_lines(): a container number out of range");
            Py_CLEAR(result);
            goto done;
        }
        double pw = 0, ws = 0;
        for (Py_ssize_t i = 0; i < n; i++) if (inside[cont[i]]) { pw += p[i] * w[i]; ws += w[i]; }
        if (ws > 0) {
            const double tcut = tq * pw / ws;
            for (Py_ssize_t i = 0; i < n; i++) if (!inside[cont[i]] && p[i] < tcut) out[i] = 0;
        }
    }
done:
    PyMem_Free(p); PyMem_Free(sum); PyMem_Free(inside);
    PyBuffer_Release(&zb);
    PyBuffer_Release(&xb);
    if (cb.buf) PyBuffer_Release(&cb);
    if (pb.buf) PyBuffer_Release(&pb);
    return result;
}

/* keyword_lines(texts, words, max_words, keywords, whole_words) -> bytes
 *
 * float64 per line: 1 when a line of at most max_words words (words: float64 per line) contains one of keywords
 * (a substring, case-folded with str.lower's per-character mapping) or one of whole_words followed by a non-word
 * character or the line's end (Python's \b after it). Keywords are given in lower case. This replaces a regex over
 * the short lines that cost more than the rest of the Python side of the engine.
 */
#define MAX_KEYS 256

static inline Py_UCS4 lower(Py_UCS4 c) {
    if (c < 128) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return Py_UNICODE_TOLOWER(c);
}

static int matches_at(int kind, const void *data, Py_ssize_t len, Py_ssize_t i, PyObject *key, int whole) {
    const Py_ssize_t klen = PyUnicode_GET_LENGTH(key);
    const int kkind = PyUnicode_KIND(key);
    const void *kdata = PyUnicode_DATA(key);
    if (i + klen > len) return 0;
    for (Py_ssize_t k = 1; k < klen; k++)
        if (lower(PyUnicode_READ(kind, data, i + k)) != PyUnicode_READ(kkind, kdata, k)) return 0;
    if (whole && i + klen < len) {
        Py_UCS4 next = PyUnicode_READ(kind, data, i + klen);
        if (Py_UNICODE_ISALNUM(next) || next == '_') return 0;
    }
    return 1;
}

static PyObject *keyword_lines(PyObject *self, PyObject *args) {
    PyObject *texts, *keys, *whole_keys, *result = NULL;
    Py_buffer wb;
    double max_words;
    if (!PyArg_ParseTuple(args, "O!y*dO!O!", &PyList_Type, &texts, &wb, &max_words, &PyTuple_Type, &keys,
                          &PyTuple_Type, &whole_keys))
        return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts), n_keys = PyTuple_GET_SIZE(keys);
    const Py_ssize_t n_all = n_keys + PyTuple_GET_SIZE(whole_keys);
    if (wb.len != n * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "keyword_lines(): one word count per line");
        goto done;
    }
    for (Py_ssize_t k = 0; k < n_all; k++) {
        PyObject *key = k < n_keys ? PyTuple_GET_ITEM(keys, k) : PyTuple_GET_ITEM(whole_keys, k - n_keys);
        if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) == 0) {
            PyErr_SetString(PyExc_TypeError, "keyword_lines(): keywords must be non-empty str");
            goto done;
        }
    }
    /* Keys by first character: ASCII ones in a bucket per character, the others in one list. */
    Py_ssize_t order[MAX_KEYS], ascii_start[129], n_other = 0;
    Py_UCS4 first[MAX_KEYS];
    if (n_all > MAX_KEYS) {
        PyErr_SetString(PyExc_ValueError, "keyword_lines(): too many keywords");
        goto done;
    }
    for (Py_ssize_t k = 0; k < n_all; k++)
        first[k] = PyUnicode_READ_CHAR(k < n_keys ? PyTuple_GET_ITEM(keys, k) : PyTuple_GET_ITEM(whole_keys, k - n_keys), 0);
    {
        Py_ssize_t pos = 0;
        for (int c = 0; c < 128; c++) {
            ascii_start[c] = pos;
            for (Py_ssize_t k = 0; k < n_all; k++)
                if (first[k] == (Py_UCS4)c) order[pos++] = k;
        }
        ascii_start[128] = pos;
        for (Py_ssize_t k = 0; k < n_all; k++)
            if (first[k] >= 128) order[pos + n_other++] = k;
    }
    result = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(double));
    if (!result) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    const double *words = wb.buf;
    for (Py_ssize_t line = 0; line < n; line++) {
        out[line] = 0.0;
        PyObject *text = PyList_GET_ITEM(texts, line);
        if (words[line] > max_words || !PyUnicode_Check(text)) continue;
        const int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        const Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        for (Py_ssize_t i = 0; i < len && out[line] == 0.0; i++) {
            const Py_UCS4 c = lower(PyUnicode_READ(kind, data, i));
            const Py_ssize_t lo = c < 128 ? ascii_start[c] : ascii_start[128];
            const Py_ssize_t hi = c < 128 ? ascii_start[c + 1] : ascii_start[128] + n_other;
            for (Py_ssize_t j = lo; j < hi; j++) {
                const Py_ssize_t k = order[j];
                if (first[k] != c) continue;
                PyObject *key = k < n_keys ? PyTuple_GET_ITEM(keys, k) : PyTuple_GET_ITEM(whole_keys, k - n_keys);
                if (matches_at(kind, data, len, i, key, k >= n_keys)) {
                    out[line] = 1.0;
                    break;
                }
            }
        }
    }
done:
    PyBuffer_Release(&wb);
    return result;
}

/* repeat_flags(texts, title_variants) -> bytes
 *
 * float64 per line: 1 if the same text occurs on another line of the page, plus 2 if the text is one of
 * title_variants (a frozenset of str). The per-line Python loop it replaces cost as much as the whole feature pass.
 */
static PyObject *repeat_flags(PyObject *self, PyObject *args) {
    PyObject *texts, *variants, *counts, *result = NULL;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &texts, &variants)) return NULL;
    if (!PyAnySet_Check(variants)) {
        PyErr_SetString(PyExc_TypeError, "repeat_flags(): title_variants must be a set or frozenset");
        return NULL;
    }
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    counts = PyDict_New(); /* text -> None the first time, True once repeated */
    if (!counts) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(texts, i);
        int seen = PyDict_Contains(counts, t);
        if (seen < 0 || PyDict_SetItem(counts, t, seen ? Py_True : Py_None) < 0) goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(double));
    if (!result) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    const int any_title = PySet_GET_SIZE(variants) > 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(texts, i);
        int title = any_title ? PySet_Contains(variants, t) : 0;
        if (title < 0) { Py_CLEAR(result); goto done; }
        out[i] = (double)(PyDict_GetItemWithError(counts, t) == Py_True) + 2.0 * title;
    }
done:
    Py_DECREF(counts);
    return result;
}

static PyMethodDef methods[] = {
    {"stage3_inputs", stage3_inputs, METH_VARARGS,
     "stage3_inputs(p2, words, containers, parents, margin_a, margin_b) -> bytes of float64, 7 per line"},
    {"split", split, METH_O,
     "split(rendered) -> (texts, kind: bytes of int64, stats: bytes of float64 rows); see blocks.split_lines"},
    {"features", features, METH_VARARGS,
     "features(stats, kind, flags, boilerplate, n_kinds, li_kind, windows, mass_windows) -> bytes of float64 rows; "
     "see features.block_features"},
    {"stage2_inputs", stage2_inputs, METH_VARARGS,
     "stage2_inputs(p1, words, windows, sides) -> bytes of float64 rows of scoring.STAGE2_NAMES"},
    {"logits", logits, METH_VARARGS,
     "logits(x, w1, b1, w2x, w2p, b2, hx, hp, hc, hv, windows, sides, words_col) -> bytes of float64 stage-2 log-odds"},
    {"keep_lines", keep_lines, METH_VARARGS,
     "keep_lines(z, x, n_feat, words_col, threshold, ratio[, containers, parents, tree_margin, tree_ratio]) -> bytes of "
     "uint8 per line; see scoring.BlockModel.keep"},
    {"keyword_lines", keyword_lines, METH_VARARGS,
     "keyword_lines(texts, words, max_words, keywords, whole_words) -> bytes of float64 0/1 per line"},
    {"repeat_flags", repeat_flags, METH_VARARGS,
     "repeat_flags(texts, title_variants) -> bytes of float64: repeated on the page + 2 * equals a title variant"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_linetable", NULL, -1, methods};

PyMODINIT_FUNC PyInit__linetable(void) { return PyModule_Create(&module); }
