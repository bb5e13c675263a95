/* The n-gram signals of the Gopher repetition filter in one C pass (gopher.ngram_chars's contract).
 *
 * ngram_chars(words: list[str], top_ns: tuple[int], dup_ns: tuple[int]) -> (top: tuple[int], dup: tuple[int])
 *
 *   top[k]  for n = top_ns[k]: characters covered by all occurrences of the most frequent word n-gram, each
 *           occurrence counted as its words joined by single spaces; among equally frequent n-grams the one that
 *           occurs first wins.
 *   dup[k]  for n = dup_ns[k]: characters (without spaces) of n-grams that repeat an earlier n-gram, scanning left
 *           to right and jumping past each repeat so that no word is counted twice.
 *
 * An n-gram is identified by the same 64-bit rolling hash of Python's string hashes as the numpy version in
 * gopher.py (h_n[i] = h_{n-1}[i] * P + hash(words[i + n - 1]), wrapping), so both give identical results; the
 * numpy version stays as the fallback and as the tests' reference. Counting uses an open-addressing table instead
 * of numpy's sorts: the numpy calls cost more than the work on typical documents of a few hundred words.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint64_t P = 0x9E3779B97F4A7C15ULL;

typedef struct {
    uint64_t *keys;
    int64_t *count; /* occurrences (top) */
    int64_t *first; /* first position */
    uint8_t *used;
    size_t mask;
} Table;

static int table_init(Table *t, Py_ssize_t items) {
    size_t size = 16;
    while (size < (size_t)items * 2) size <<= 1;
    t->mask = size - 1;
    t->keys = PyMem_Malloc(size * sizeof(uint64_t));
    t->count = PyMem_Malloc(size * sizeof(int64_t));
    t->first = PyMem_Malloc(size * sizeof(int64_t));
    t->used = PyMem_Calloc(size, 1);
    if (!t->keys || !t->count || !t->first || !t->used) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void table_clear(Table *t) { memset(t->used, 0, t->mask + 1); }

static void table_free(Table *t) {
    PyMem_Free(t->keys); PyMem_Free(t->count); PyMem_Free(t->first); PyMem_Free(t->used);
}

/* The slot of key: its own, or the empty one where it belongs. */
static inline size_t slot(const Table *t, uint64_t key) {
    size_t i = (size_t)(key ^ (key >> 29)) & t->mask;
    while (t->used[i] && t->keys[i] != key) i = (i + 1) & t->mask;
    return i;
}

static int read_ns(PyObject *seq, Py_ssize_t *ns, Py_ssize_t *count) {
    PyObject *fast = PySequence_Fast(seq, "n must be a sequence of ints");
    if (!fast) return -1;
    *count = PySequence_Fast_GET_SIZE(fast);
    if (*count > 16) { Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "at most 16 n"); return -1; }
    for (Py_ssize_t k = 0; k < *count; k++) {
        ns[k] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, k));
        if (ns[k] == -1 && PyErr_Occurred()) { Py_DECREF(fast); return -1; }
        if (ns[k] < 1 || (k > 0 && ns[k] <= ns[k - 1])) {
            Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "n must be increasing and >= 1"); return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

static PyObject *ngram_chars(PyObject *self, PyObject *args) {
    PyObject *words, *top_arg, *dup_arg;
    if (!PyArg_ParseTuple(args, "O!OO", &PyList_Type, &words, &top_arg, &dup_arg)) return NULL;
    Py_ssize_t top_ns[16], dup_ns[16], n_top, n_dup;
    if (read_ns(top_arg, top_ns, &n_top) < 0 || read_ns(dup_arg, dup_ns, &n_dup) < 0) return NULL;
    if (n_top && n_dup && dup_ns[0] <= top_ns[n_top - 1]) {
        PyErr_SetString(PyExc_ValueError, "every dup n must exceed every top n");
        return NULL;
    }
    int64_t top[16] = {0}, dup[16] = {0};
    const Py_ssize_t n_words = PyList_GET_SIZE(words);
    uint64_t *uni = NULL, *h = NULL;
    int64_t *ends = NULL;
    Table t = {0};
    PyObject *result = NULL;
    if (n_words < 2 || (!n_top && !n_dup)) goto build;
    uni = PyMem_Malloc(n_words * sizeof(uint64_t));
    h = PyMem_Malloc(n_words * sizeof(uint64_t));
    ends = PyMem_Malloc((n_words + 1) * sizeof(int64_t));
    if (!uni || !h || !ends) { PyErr_NoMemory(); goto done; }
    ends[0] = 0;
    for (Py_ssize_t i = 0; i < n_words; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(w)) { PyErr_SetString(PyExc_TypeError, "words must be str"); goto done; }
        Py_hash_t hv = PyObject_Hash(w);
        if (hv == -1 && PyErr_Occurred()) goto done;
        uni[i] = (uint64_t)(int64_t)hv;
        h[i] = uni[i];
        ends[i + 1] = ends[i] + PyUnicode_GET_LENGTH(w);
    }
    if (table_init(&t, n_words) < 0) goto done;
    Py_ssize_t last_n = n_dup ? dup_ns[n_dup - 1] : top_ns[n_top - 1];
    Py_ssize_t k_top = 0, k_dup = 0;
    for (Py_ssize_t n = 2; n <= last_n && n <= n_words; n++) {
        const Py_ssize_t m = n_words - n + 1; /* n-grams of this size; h[i] covers words i .. i+n-1 */
        for (Py_ssize_t i = 0; i < m; i++) h[i] = h[i] * P + uni[i + n - 1];
        while (k_top < n_top && top_ns[k_top] < n) k_top++;
        while (k_dup < n_dup && dup_ns[k_dup] < n) k_dup++;
        table_clear(&t);
        if (k_top < n_top && top_ns[k_top] == n) {
            int64_t most = 0, start = 0;
            for (Py_ssize_t i = 0; i < m; i++) {
                size_t s = slot(&t, h[i]);
                if (!t.used[s]) { t.used[s] = 1; t.keys[s] = h[i]; t.count[s] = 0; t.first[s] = i; }
                int64_t c = ++t.count[s];
                /* The most frequent n-gram; ties go to the one that occurs first. */
                if (c > most || (c == most && t.first[s] < start)) { most = c; start = t.first[s]; }
            }
            top[k_top] = most * (ends[start + n] - ends[start] + n - 1);
        } else if (k_dup < n_dup && dup_ns[k_dup] == n) {
            int64_t chars = 0;
            Py_ssize_t next_free = 0;
            for (Py_ssize_t i = 0; i < m; i++) {
                if (i < next_free) continue; /* inside a repeat already counted */
                size_t s = slot(&t, h[i]);
                if (t.used[s]) {
                    chars += ends[i + n] - ends[i];
                    next_free = i + n;
                } else {
                    t.used[s] = 1; t.keys[s] = h[i];
                }
            }
            dup[k_dup] = chars;
        }
    }
build:;
    PyObject *top_t = PyTuple_New(n_top), *dup_t = PyTuple_New(n_dup);
    if (!top_t || !dup_t) { Py_XDECREF(top_t); Py_XDECREF(dup_t); goto done; }
    for (Py_ssize_t k = 0; k < n_top; k++) PyTuple_SET_ITEM(top_t, k, PyLong_FromLongLong(top[k]));
    for (Py_ssize_t k = 0; k < n_dup; k++) PyTuple_SET_ITEM(dup_t, k, PyLong_FromLongLong(dup[k]));
    result = PyTuple_Pack(2, top_t, dup_t);
    Py_DECREF(top_t); Py_DECREF(dup_t);
done:
    PyMem_Free(uni); PyMem_Free(h); PyMem_Free(ends);
    table_free(&t);
    return result;
}

static PyMethodDef methods[] = {
    {"ngram_chars", ngram_chars, METH_VARARGS, "Gopher n-gram repetition signals (see the file header)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ngrams", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ngrams(void) { return PyModule_Create(&module); }
