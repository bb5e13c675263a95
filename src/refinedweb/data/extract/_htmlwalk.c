/* A streaming HTML walk in C that renders a page in the
 * minimal-HTML line format the refinedweb engine reads (see blocks.py) and tags every line with its innermost
 * container element, so the engine can score lines with container statistics (benchmarks/extraction.md,
 * "Container statistics from a DOM walk").
 *
 * walk(html: str) -> (rendered: str, line_container: bytes, parents: bytes, cue_ranges: bytes)
 *   rendered        lines separated by '\n'; blocks as "<p>", "<h1>".."<h6>", "<li>", "<pre>" prefixes; links as
 *                   "<a >...</a>"; table cells preceded by a tab; '<' and '>' in text escaped; entities as written.
 *   line_container  int32 per line with text (the lines the line table keeps, in order): the innermost
 *                   container the line's first text was written in.
 *   parents         int32 per container: its parent container (-1 for the root, container 0 = the document).
 *   cue_ranges      int32 triples (first line, end line, cue bits) for each rendered element whose class, id or
 *                   itemprop names one of the CUES groups (or whose tag is one of theirs): the element covers
 *                   lines [first, end) (a line it starts or ends inside counts), and bit g is set for group g.
 *
 * Tree building is a simplification of HTML's: a stack of open elements, void elements, raw-text elements
 * (script, style, textarea, title, ...) read up to their end tag, and the common implied end tags (a block start
 * closes an open <p>; <li>, <dt>/<dd>, <td>/<th>, <tr>, <option> close their open siblings; an end tag closes up to
 * the nearest open element of its name and is ignored when none is open). Elements skipped with their content:
 * the engine's tag list (nav, footer, aside, form controls, template), head, and elements the page hides
 * (hidden, aria-hidden="true", an inline display:none, OneTrust's consent banner).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <ctype.h>
#include <math.h>

enum {
    F_BLOCK = 1, F_GAP = 2, F_CONTAINER = 4, F_SKIP = 8, F_RAW = 16, F_VOID = 32, F_CLOSES_P = 64, F_LINK = 128,
    F_CELL = 256, F_PRE = 512, F_BR = 1024,
};

typedef struct { const char *name; int flags; const char *prefix; } TagInfo;

#define BLK (F_BLOCK | F_CLOSES_P)
static const TagInfo TAGS[] = {
    {"p", BLK | F_GAP, "<p>"}, {"div", BLK | F_CONTAINER, NULL}, {"section", BLK | F_CONTAINER, NULL},
    {"article", BLK | F_CONTAINER, NULL}, {"main", BLK | F_CONTAINER, NULL}, {"header", BLK | F_CONTAINER, NULL},
    {"ul", BLK | F_GAP | F_CONTAINER, NULL}, {"ol", BLK | F_GAP | F_CONTAINER, NULL}, {"li", BLK, "<li>"},
    {"h1", BLK | F_GAP, "<h1>"}, {"h2", BLK | F_GAP, "<h2>"}, {"h3", BLK | F_GAP, "<h3>"},
    {"h4", BLK | F_GAP, "<h4>"}, {"h5", BLK | F_GAP, "<h5>"}, {"h6", BLK | F_GAP, "<h6>"},
    {"pre", BLK | F_GAP | F_PRE, "<pre>"}, {"table", BLK | F_GAP | F_CONTAINER, NULL}, {"tr", F_BLOCK, NULL},
    {"td", F_CELL, NULL}, {"th", F_CELL, NULL}, {"tbody", 0, NULL}, {"thead", 0, NULL}, {"tfoot", 0, NULL},
    {"caption", F_BLOCK, NULL}, {"blockquote", BLK | F_GAP | F_CONTAINER, NULL},
    {"form", BLK | F_CONTAINER, NULL}, {"figure", BLK | F_CONTAINER, NULL}, {"figcaption", BLK, NULL},
    {"dl", BLK | F_CONTAINER, NULL}, {"dt", BLK, NULL}, {"dd", BLK, NULL}, {"hr", BLK | F_VOID, NULL},
    {"address", BLK, NULL}, {"center", BLK | F_CONTAINER, NULL}, {"fieldset", BLK | F_CONTAINER, NULL},
    {"details", BLK | F_CONTAINER, NULL}, {"summary", BLK, NULL}, {"menu", BLK | F_CONTAINER, NULL},
    {"hgroup", BLK, NULL}, {"legend", F_BLOCK, NULL}, {"body", F_BLOCK | F_CONTAINER, NULL}, {"html", 0, NULL},
    {"br", F_BR | F_VOID, NULL}, {"a", F_LINK, NULL},
    {"nav", BLK | F_SKIP, NULL}, {"footer", BLK | F_SKIP, NULL}, {"aside", BLK | F_SKIP, NULL},
    {"button", F_SKIP, NULL}, {"select", F_SKIP, NULL}, {"option", F_SKIP, NULL}, {"template", F_SKIP, NULL},
    {"head", F_SKIP, NULL}, {"svg", F_SKIP, NULL}, {"math", F_SKIP, NULL}, {"object", F_SKIP, NULL},
    {"canvas", F_SKIP, NULL}, {"video", F_SKIP, NULL}, {"audio", F_SKIP, NULL}, {"map", F_SKIP, NULL},
    {"script", F_SKIP | F_RAW, NULL}, {"style", F_SKIP | F_RAW, NULL}, {"textarea", F_SKIP | F_RAW, NULL},
    {"title", F_SKIP | F_RAW, NULL}, {"noscript", F_SKIP | F_RAW, NULL}, {"iframe", F_SKIP | F_RAW, NULL},
    {"xmp", F_SKIP | F_RAW, NULL}, {"noembed", F_SKIP | F_RAW, NULL}, {"noframes", F_SKIP | F_RAW, NULL},
    {"img", F_VOID, NULL}, {"input", F_VOID, NULL}, {"meta", F_VOID, NULL}, {"link", F_VOID, NULL},
    {"base", F_VOID, NULL}, {"area", F_VOID, NULL}, {"col", F_VOID, NULL}, {"embed", F_VOID, NULL},
    {"param", F_VOID, NULL}, {"source", F_VOID, NULL}, {"track", F_VOID, NULL}, {"wbr", F_VOID, NULL},
};
#define N_TAGS ((int)(sizeof(TAGS) / sizeof(TAGS[0])))
#define T_OTHER N_TAGS

static int tag_id(const char *name) {
    for (int i = 0; i < N_TAGS; i++) /* called for every tag: the first letter rules out most entries */
        if (TAGS[i].name[0] == name[0] && strcmp(TAGS[i].name, name) == 0) return i;
    return T_OTHER;
}
static inline int flags_of(int t) { return t < N_TAGS ? TAGS[t].flags : 0; }

typedef struct { int tag, skip, container; unsigned cues; int32_t first; } Open;

typedef struct {
    Py_UCS4 *out; Py_ssize_t len, cap;
    int32_t *lines; Py_ssize_t n_lines, lines_cap; /* container per raw line */
    int32_t *parents; Py_ssize_t n_cont, cont_cap;
    int32_t *cues; Py_ssize_t n_cues, cues_cap; /* cue_ranges, three int32 per element */
    Open *stack; int depth, stack_cap;
    int skip;             /* open skipping elements */
    int line_has_text;    /* the current raw line has a visible character */
    int line_container;   /* container of the current line's first text */
    int last_blank;       /* the last written raw line was blank */
    int pending_space;
    const char *pending_prefix;
    int in_link;
    int pre;
} W;

static int grow(void **p, Py_ssize_t *cap, Py_ssize_t need, size_t item) {
    if (need <= *cap) return 0;
    Py_ssize_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = PyMem_Realloc(*p, (size_t)c * item);
    if (!q) { PyErr_NoMemory(); return -1; }
    *p = q; *cap = c;
    return 0;
}

static int put(W *w, Py_UCS4 c) {
    if (w->len + 1 > w->cap && grow((void **)&w->out, &w->cap, w->len + 1, sizeof(Py_UCS4)) < 0) return -1;
    w->out[w->len++] = c;
    return 0;
}
static int puts_(W *w, const char *s) { for (; *s; s++) if (put(w, (Py_UCS4)*s) < 0) return -1; return 0; }

static inline int cur_container(W *w) { return w->depth ? w->stack[w->depth - 1].container : 0; }

/* End the current raw line (if it has content, or `blank` asks for a blank line). */
static int end_line(W *w, int blank) {
    if (w->line_has_text || (w->len > 0 && w->out[w->len - 1] != '\n')) {
        if (w->in_link && puts_(w, "</a>") < 0) return -1;
        if (put(w, '\n') < 0) return -1;
        if (w->line_has_text) {
            if (grow((void **)&w->lines, &w->lines_cap, w->n_lines + 1, sizeof(int32_t)) < 0) return -1;
            w->lines[w->n_lines++] = w->line_container;
        }
        if (w->in_link && puts_(w, "<a >") < 0) return -1;
        w->last_blank = 0;
    }
    if (blank && !w->last_blank && w->len > 0) {
        if (put(w, '\n') < 0) return -1;
        w->last_blank = 1;
    }
    w->line_has_text = 0; w->pending_space = 0; w->pending_prefix = NULL;
    return 0;
}

static int text_char(W *w, Py_UCS4 c) {
    if (w->skip || c == 1 || c == 2) return 0; /* the line table drops \x01 and \x02: so does the walk */
    if (w->pre && c == '\n') return end_line(w, 0);
    if (Py_UNICODE_ISSPACE(c)) {
        /* White space never starts a line (so a line has text exactly when the line table sees a visible
         * character); outside <pre> a run of it is one space, except no-break spaces, which are kept. */
        if (!w->line_has_text) return 0;
        if (!w->pre && c != 0xa0) { w->pending_space = 1; return 0; }
    }
    if (!w->line_has_text) {
        w->line_has_text = 1;
        w->line_container = cur_container(w);
        if (w->pending_prefix && puts_(w, w->pending_prefix) < 0) return -1;
        w->pending_prefix = NULL;
    } else if (w->pending_space) {
        if (put(w, ' ') < 0) return -1;
    }
    w->pending_space = 0;
    if (c == '<') return puts_(w, "&lt;");
    if (c == '>') return puts_(w, "&gt;");
    return put(w, c);
}

/* Deeper nesting is treated as inline (not pushed): end tags search the stack, so an unbounded stack would make a
 * page of thousands of unclosed elements quadratic. Real pages nest a few dozen levels. */
#define MAX_DEPTH 512

static int push(W *w, int tag, int skip, int container, unsigned cues) {
    if (w->depth >= MAX_DEPTH) return 0;
    if (w->depth + 1 > w->stack_cap) {
        Py_ssize_t cap = w->stack_cap;
        if (grow((void **)&w->stack, &cap, w->depth + 1, sizeof(Open)) < 0) return -1;
        w->stack_cap = (int)cap;
    }
    w->stack[w->depth++] = (Open){tag, skip, container, cues, (int32_t)w->n_lines};
    w->skip += skip;
    return 0;
}

/* Pop elements down to and including stack index i, ending their blocks. */
static int pop_to(W *w, int i) {
    while (w->depth > i) {
        Open o = w->stack[--w->depth];
        w->skip -= o.skip;
        if (o.cues && !w->skip) {
            /* The lines the element covers: from the line that was open when it started to the one open now. */
            int32_t end = (int32_t)(w->n_lines + (w->line_has_text ? 1 : 0));
            if (end > o.first) {
                if (grow((void **)&w->cues, &w->cues_cap, w->n_cues + 3, sizeof(int32_t)) < 0) return -1;
                w->cues[w->n_cues++] = o.first; w->cues[w->n_cues++] = end; w->cues[w->n_cues++] = (int32_t)o.cues;
            }
        }
        int f = flags_of(o.tag);
        if (f & F_LINK) { if (w->in_link && !w->skip && puts_(w, "</a>") < 0) return -1; w->in_link = 0; }
        if (f & F_PRE) w->pre = 0;
        if ((f & (F_BLOCK | F_GAP)) && end_line(w, f & F_GAP) < 0) return -1;
    }
    return 0;
}

/* The nearest open element with tag `t`, not looking past elements whose tag is in `stops`; -1 if none. */
static int find_open(W *w, int t, const int *stops, int n_stops) {
    for (int i = w->depth - 1; i >= 0; i--) {
        if (w->stack[i].tag == t) return i;
        for (int k = 0; k < n_stops; k++) if (w->stack[i].tag == stops[k]) return -1;
    }
    return -1;
}

static int ID_P, ID_LI, ID_UL, ID_OL, ID_DT, ID_DD, ID_DL, ID_TD, ID_TH, ID_TR, ID_TABLE, ID_OPTION, ID_SELECT,
    ID_HEAD, ID_BODY, ID_HTML, ID_BUTTON, ID_A, ID_FIGURE, ID_FIGCAPTION, ID_HEADER, ID_FORM;

static int ascii_ieq(const Py_UCS4 *s, Py_ssize_t n, const char *lit) {
    Py_ssize_t m = (Py_ssize_t)strlen(lit);
    if (n != m) return 0;
    for (Py_ssize_t i = 0; i < n; i++) if (s[i] > 127 || tolower((int)s[i]) != lit[i]) return 0;
    return 1;
}

static int ascii_icontains(const Py_UCS4 *s, Py_ssize_t n, const char *lit) {
    Py_ssize_t m = (Py_ssize_t)strlen(lit);
    for (Py_ssize_t i = 0; i + m <= n; i++) {
        Py_ssize_t k = 0;
        while (k < m && s[i + k] <= 127 && tolower((int)s[i + k]) == lit[k]) k++;
        if (k == m) return 1;
    }
    return 0;
}

/* The attribute starting at or after i in [i, b): its name [ns, ne) (empty when none) and value [vs, ve); returns
 * where the next one may start. */
static Py_ssize_t next_attr(const Py_UCS4 *s, Py_ssize_t i, Py_ssize_t b, Py_ssize_t *ns, Py_ssize_t *ne,
                            Py_ssize_t *vs, Py_ssize_t *ve) {
    while (i < b && (Py_UNICODE_ISSPACE(s[i]) || s[i] == '/')) i++;
    *ns = i;
    while (i < b && !Py_UNICODE_ISSPACE(s[i]) && s[i] != '=' && s[i] != '/') i++;
    *ne = *vs = *ve = i;
    while (i < b && Py_UNICODE_ISSPACE(s[i])) i++;
    if (i < b && s[i] == '=') {
        i++;
        while (i < b && Py_UNICODE_ISSPACE(s[i])) i++;
        if (i < b && (s[i] == '"' || s[i] == '\'')) {
            Py_UCS4 q = s[i++]; *vs = i;
            while (i < b && s[i] != q) i++;
            *ve = i; if (i < b) i++;
        } else {
            *vs = i;
            while (i < b && !Py_UNICODE_ISSPACE(s[i])) i++;
            *ve = i;
        }
    }
    return *ne == *ns ? i + 1 : i;
}

/* Cue groups: class / id / itemprop substrings (ASCII, matched case-insensitively) naming a kind of page furniture,
 * in the order of features.CUE_GROUPS; a group's bit is set on an element whose attribute value contains one. */
static const char *const CUES[][5] = {
    {"caption"}, {NULL}, {"credit"}, {"gallery", "slideshow", "carousel", "slider"}, {"comment", "disqus"},
    {"byline", "author"}, {"related", "recirc", "more-stories", "read-more"}, {"share", "social"},
    {"newsletter", "subscribe", "signup"}, {"advert", "sponsor", "promo"}, {"date", "time", "meta", "posted"},
    {"tags", "tag-", "categor"}, {"image", "photo", "img", "media"}, {"sidebar", "widget", "rail"}, {"header"},
    {"respond", "reply"}, {"bio"},
};
#define N_CUE_GROUPS ((int)(sizeof(CUES) / sizeof(CUES[0])))
enum { CUE_CAPTION = 0, CUE_FIGURE = 1, CUE_HEADER = 14, CUE_RESPOND = 15 };
/* Patterns by first letter, so a value is scanned once with a few comparisons per character. */
typedef struct { const char *pat; unsigned bit; } CuePat;
static CuePat CUE_BY_LETTER[26][12];
static int N_BY_LETTER[26];

static void init_cues(void) {
    for (int g = 0; g < N_CUE_GROUPS; g++)
        for (int k = 0; k < 5 && CUES[g][k]; k++) {
            int l = CUES[g][k][0] - 'a';
            if (N_BY_LETTER[l] < 12) CUE_BY_LETTER[l][N_BY_LETTER[l]++] = (CuePat){CUES[g][k], 1u << g};
        }
}

static unsigned value_cues(const Py_UCS4 *v, Py_ssize_t n) {
    unsigned bits = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = v[i];
        if (c > 127) continue;
        int l = tolower((int)c) - 'a';
        if (l < 0 || l >= 26) continue;
        for (int k = 0; k < N_BY_LETTER[l]; k++) {
            const char *p = CUE_BY_LETTER[l][k].pat;
            Py_ssize_t j = 1;
            while (p[j] && i + j < n && v[i + j] <= 127 && tolower((int)v[i + j]) == p[j]) j++;
            if (!p[j]) bits |= CUE_BY_LETTER[l][k].bit;
        }
    }
    return bits;
}

/* One pass over an element's attributes in [a, b): sets *hidden when they hide it (the `hidden` attribute,
 * aria-hidden="true", an inline display:none, OneTrust's consent banner), and returns its cue bits when `cues` is
 * set (its tag's, and those its class, id and itemprop values name). */
static unsigned scan_attrs(int t, const Py_UCS4 *s, Py_ssize_t a, Py_ssize_t b, int cues, int *hidden) {
    unsigned bits = 0;
    *hidden = 0;
    if (cues) {
        if (t == ID_FIGCAPTION) bits |= 1u << CUE_CAPTION;
        if (t == ID_FIGURE) bits |= 1u << CUE_FIGURE;
        if (t == ID_HEADER) bits |= 1u << CUE_HEADER;
        if (t == ID_FORM) bits |= 1u << CUE_RESPOND;
    }
    Py_ssize_t i = a;
    while (i < b) {
        Py_ssize_t ns, ne, vs, ve;
        i = next_attr(s, i, b, &ns, &ne, &vs, &ve);
        if (ne == ns) continue;
        const Py_UCS4 *name = s + ns, *value = s + vs; Py_ssize_t nl = ne - ns, vl = ve - vs;
        if (ascii_ieq(name, nl, "hidden") || (ascii_ieq(name, nl, "aria-hidden") && ascii_ieq(value, vl, "true")) ||
            (ascii_ieq(name, nl, "style") &&
             (ascii_icontains(value, vl, "display:none") || ascii_icontains(value, vl, "display: none"))) ||
            (ascii_ieq(name, nl, "id") && ascii_ieq(value, vl, "onetrust-consent-sdk"))) {
            *hidden = 1;
            return 0;
        }
        if (cues && (ascii_ieq(name, nl, "class") || ascii_ieq(name, nl, "id") || ascii_ieq(name, nl, "itemprop")))
            bits |= value_cues(value, vl);
    }
    return bits;
}

static int start_tag(W *w, int t, int hidden, unsigned cues) {
    int f = flags_of(t);
    /* A page without </head>: body content ends the head. */
    if (t != ID_HEAD && !(f & (F_RAW | F_VOID)) && t != ID_HTML) {
        int h = find_open(w, ID_HEAD, NULL, 0);
        if (h >= 0 && pop_to(w, h) < 0) return -1;
    }
    if (f & F_CLOSES_P) {
        int stops[3] = {ID_BUTTON, ID_TABLE, ID_TD};
        int i = find_open(w, ID_P, stops, 3);
        if (i >= 0 && pop_to(w, i) < 0) return -1;
    }
    if (t == ID_LI) { int st[2] = {ID_UL, ID_OL}; int i = find_open(w, ID_LI, st, 2); if (i >= 0 && pop_to(w, i) < 0) return -1; }
    if (t == ID_DT || t == ID_DD) {
        int st[1] = {ID_DL};
        int i = find_open(w, ID_DT, st, 1), j = find_open(w, ID_DD, st, 1);
        if (j > i) i = j;
        if (i >= 0 && pop_to(w, i) < 0) return -1;
    }
    if (t == ID_TD || t == ID_TH) {
        int st[2] = {ID_TR, ID_TABLE};
        int i = find_open(w, ID_TD, st, 2), j = find_open(w, ID_TH, st, 2);
        if (j > i) i = j;
        if (i >= 0 && pop_to(w, i) < 0) return -1;
    }
    if (t == ID_TR) { int st[1] = {ID_TABLE}; int i = find_open(w, ID_TR, st, 1); if (i >= 0 && pop_to(w, i) < 0) return -1; }
    if (t == ID_OPTION) { int st[1] = {ID_SELECT}; int i = find_open(w, ID_OPTION, st, 1); if (i >= 0 && pop_to(w, i) < 0) return -1; }
    if (t == ID_A) { int i = find_open(w, ID_A, NULL, 0); if (i >= 0 && pop_to(w, i) < 0) return -1; }
    if (f & F_BR) return w->skip ? 0 : end_line(w, 0);
    if ((f & F_BLOCK) && !w->skip && end_line(w, f & F_GAP) < 0) return -1;
    if (f & F_VOID) return 0;
    int container = cur_container(w);
    if (f & F_CONTAINER) {
        if (t == ID_BODY && w->n_cont > 0) container = 0;
        else {
            if (grow((void **)&w->parents, &w->cont_cap, w->n_cont + 1, sizeof(int32_t)) < 0) return -1;
            w->parents[w->n_cont] = w->n_cont ? container : -1;
            container = (int)w->n_cont++;
        }
    }
    if (push(w, t, (f & F_SKIP) || hidden ? 1 : 0, container, cues) < 0) return -1;
    if (!w->skip) {
        if (t < N_TAGS && TAGS[t].prefix) w->pending_prefix = TAGS[t].prefix;
        if (f & F_PRE) w->pre = 1;
        if (f & F_CELL) { if (w->line_has_text && put(w, '\t') < 0) return -1; }
        if (f & F_LINK) {
            if (w->line_has_text && w->pending_space) { if (put(w, ' ') < 0) return -1; w->pending_space = 0; }
            if (!w->line_has_text && w->pending_prefix) {
                if (puts_(w, w->pending_prefix) < 0) return -1;
                w->pending_prefix = NULL;
            }
            if (puts_(w, "<a >") < 0) return -1;
            w->in_link = 1;
        }
    }
    return 0;
}

static PyObject *walk(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) { PyErr_SetString(PyExc_TypeError, "walk() needs str"); return NULL; }
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(arg);
    if (!s) return NULL;
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    W w; memset(&w, 0, sizeof w);
    PyObject *result = NULL;
    /* Container 0: the document. */
    if (grow((void **)&w.parents, &w.cont_cap, 1, sizeof(int32_t)) < 0) goto done;
    w.parents[0] = -1; w.n_cont = 1;
    Py_ssize_t i = 0;
    for (Py_ssize_t k = 0; k < n; k++)
        if (s[k] >= 0xd800 && s[k] <= 0xdfff) { /* a lone surrogate: not text, and no writer could encode it */
            PyErr_SetString(PyExc_UnicodeError, "the page holds a lone surrogate code point");
            goto done;
        }
    while (i < n) {
        Py_UCS4 c = s[i];
        if (c != '<') { if (text_char(&w, c) < 0) goto done; i++; continue; }
        /* Comments, doctype, processing instructions. */
        if (i + 3 < n && s[i + 1] == '!' && s[i + 2] == '-' && s[i + 3] == '-') {
            Py_ssize_t j = i + 4;
            while (j + 2 < n && !(s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '>')) j++;
            i = j + 3 <= n ? j + 3 : n;
            continue;
        }
        if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
            Py_ssize_t j = i + 2;
            while (j < n && s[j] != '>') j++;
            i = j + 1;
            continue;
        }
        int end = i + 1 < n && s[i + 1] == '/';
        Py_ssize_t j = i + 1 + end;
        if (j >= n || s[j] > 127 || !isalpha((int)s[j])) { if (text_char(&w, c) < 0) goto done; i++; continue; }
        char name[16]; int nl = 0;
        while (j < n && !Py_UNICODE_ISSPACE(s[j]) && s[j] != '>' && s[j] != '/') {
            if (nl < 15) name[nl++] = (char)(s[j] <= 127 ? tolower((int)s[j]) : '?');
            else nl = 16;
            j++;
        }
        name[nl < 16 ? nl : 15] = 0;
        int t = nl < 16 ? tag_id(name) : T_OTHER;
        Py_ssize_t attrs = j;
        /* The tag ends at the next '>' outside quotes. */
        Py_UCS4 q = 0;
        while (j < n && (q || s[j] != '>')) {
            if (q) { if (s[j] == q) q = 0; }
            else if ((s[j] == '"' || s[j] == '\'') && j > attrs && s[j - 1] == '=') q = s[j];
            j++;
        }
        Py_ssize_t tag_end = j;
        i = j < n ? j + 1 : n;
        if (end) {
            if (t == ID_P && find_open(&w, ID_P, NULL, 0) < 0) continue;
            if (flags_of(t) & F_BR) { if (!w.skip && end_line(&w, 0) < 0) goto done; continue; }
            int k = find_open(&w, t, NULL, 0);
            if (k >= 0 && pop_to(&w, k) < 0) goto done;
            continue;
        }
        int hidden;
        unsigned cues = scan_attrs(t, s, attrs, tag_end, !w.skip && !(flags_of(t) & (F_SKIP | F_VOID)), &hidden);
        if (start_tag(&w, t, hidden, cues) < 0) goto done;
        if (flags_of(t) & F_RAW) {
            /* Raw text: up to the matching end tag, case-insensitively. */
            Py_ssize_t m = (Py_ssize_t)strlen(name), k = i;
            while (k < n) {
                if (s[k] == '<' && k + 1 < n && s[k + 1] == '/' && k + 2 + m <= n) {
                    int ok = 1;
                    for (Py_ssize_t x = 0; x < m; x++)
                        if (s[k + 2 + x] > 127 || tolower((int)s[k + 2 + x]) != name[x]) { ok = 0; break; }
                    if (ok) break;
                }
                k++;
            }
            while (k < n && s[k] != '>') k++;
            i = k < n ? k + 1 : n;
            int o = find_open(&w, t, NULL, 0);
            if (o >= 0 && pop_to(&w, o) < 0) goto done;
        }
    }
    if (pop_to(&w, 0) < 0 || end_line(&w, 0) < 0) goto done;
    {
        PyObject *text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, w.out ? (const void *)w.out : (const void *)"", w.len);
        PyObject *lines = PyBytes_FromStringAndSize((const char *)w.lines, w.n_lines * (Py_ssize_t)sizeof(int32_t));
        PyObject *parents = PyBytes_FromStringAndSize((const char *)w.parents, w.n_cont * (Py_ssize_t)sizeof(int32_t));
        PyObject *cues = PyBytes_FromStringAndSize(w.cues ? (const char *)w.cues : "", w.n_cues * (Py_ssize_t)sizeof(int32_t));
        if (text && lines && parents && cues) result = PyTuple_Pack(4, text, lines, parents, cues);
        Py_XDECREF(text); Py_XDECREF(lines); Py_XDECREF(parents); Py_XDECREF(cues);
    }
done:
    PyMem_Free(s); PyMem_Free(w.out); PyMem_Free(w.lines); PyMem_Free(w.parents); PyMem_Free(w.stack); PyMem_Free(w.cues);
    return result;
}

#define N_CF 12
#define PROSE_LINK_RATE 0.3

/* container_features(words: bytes f64[n], link_words: bytes f64[n], line_container: bytes i32[n],
 *                    parents: bytes i32[m]) -> bytes f64[n * N_CF]
 * Per line: for its container (c0) and that container's parent (c1): the container's share of the page's words,
 * log1p of its words, its link share (link words / words), log1p of its lines (all over the lines of the container
 * and its descendants); c0's depth; c0's and c1's word shares as fractions of the page's largest "prose" container
 * (link share under PROSE_LINK_RATE), and whether c0 is that container. Containers are numbered in document order, so a parent's number is
 * smaller than its children's: one pass from the last container adds each to its parent. */
static PyObject *container_features(PyObject *self, PyObject *args) {
    Py_buffer wb, lb, cb, pb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &wb, &lb, &cb, &pb)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = cb.len / (Py_ssize_t)sizeof(int32_t), m = pb.len / (Py_ssize_t)sizeof(int32_t);
    double *W = NULL, *L = NULL, *K = NULL, *D = NULL, *out = NULL;
    if (wb.len != n * (Py_ssize_t)sizeof(double) || lb.len != wb.len || m < 1) {
        PyErr_SetString(PyExc_ValueError, "container_features: arrays of mismatched sizes");
        goto done;
    }
    const double *words = wb.buf, *link = lb.buf;
    const int32_t *lc = cb.buf, *par = pb.buf;
    W = PyMem_Calloc(m, sizeof(double)); L = PyMem_Calloc(m, sizeof(double)); K = PyMem_Calloc(m, sizeof(double));
    D = PyMem_Calloc(m, sizeof(double)); out = PyMem_Calloc(n * N_CF + 1, sizeof(double));
    if (!W || !L || !K || !D || !out) { PyErr_NoMemory(); goto done; }
    double total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t c = lc[i];
        if (c < 0 || c >= m) { PyErr_SetString(PyExc_ValueError, "container_features: bad container"); goto done; }
        W[c] += words[i]; L[c] += link[i]; K[c] += 1; total += words[i];
    }
    for (Py_ssize_t c = m - 1; c > 0; c--) {
        int32_t p = par[c];
        if (p < 0 || p >= c) continue;
        W[p] += W[c]; L[p] += L[c]; K[p] += K[c];
    }
    for (Py_ssize_t c = 1; c < m; c++) D[c] = (par[c] >= 0 && par[c] < c) ? D[par[c]] + 1 : 0;
    if (total < 1) total = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t c0 = lc[i], c1 = (par[c0] >= 0 && par[c0] < c0) ? par[c0] : c0;
        double *row = out + i * N_CF;
        int32_t cs[2] = {c0, c1};
        for (int j = 0; j < 2; j++) {
            int32_t c = cs[j];
            row[4 * j] = W[c] / total;
            row[4 * j + 1] = log1p(W[c]);
            row[4 * j + 2] = L[c] / (W[c] > 1 ? W[c] : 1);
            row[4 * j + 3] = log1p(K[c]);
        }
        row[8] = D[c0];
    }
    /* Relative to the page's largest prose container (link share under PROSE_LINK_RATE): the line's container
     * and parent as fractions of it, and whether the line's container is it. */
    double m0 = 1e-9, m1 = 1e-9;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = out + i * N_CF;
        if (row[2] < PROSE_LINK_RATE && row[0] > m0) m0 = row[0];
        if (row[6] < PROSE_LINK_RATE && row[4] > m1) m1 = row[4];
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double *row = out + i * N_CF;
        row[9] = row[0] / m0;
        row[10] = row[4] / m1;
        row[11] = (row[2] < PROSE_LINK_RATE ? row[0] : 0.0) >= m0 - 1e-12 ? 1.0 : 0.0;
    }
    result = PyBytes_FromStringAndSize((const char *)out, n * N_CF * (Py_ssize_t)sizeof(double));
done:
    PyMem_Free(W); PyMem_Free(L); PyMem_Free(K); PyMem_Free(D); PyMem_Free(out);
    PyBuffer_Release(&wb); PyBuffer_Release(&lb); PyBuffer_Release(&cb); PyBuffer_Release(&pb);
    return result;
}

/* cue_columns(words: bytes f64[n], cue_ranges: bytes i32[k * 3], share: float) -> bytes f64[n * N_CUE_GROUPS]
 * Per line and cue group: 1 when the line lies in a cue range (see walk) that has the group's bit and holds under
 * `share` of the page's words, else 0. */
static PyObject *cue_columns(PyObject *self, PyObject *args) {
    Py_buffer wb, rb;
    const int groups = N_CUE_GROUPS;
    double share;
    if (!PyArg_ParseTuple(args, "y*y*d", &wb, &rb, &share)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = wb.len / (Py_ssize_t)sizeof(double), k = rb.len / (Py_ssize_t)(3 * sizeof(int32_t));
    double *mass = NULL, *out = NULL;
    int32_t *depth = NULL;
    if (wb.len != n * (Py_ssize_t)sizeof(double) || rb.len != k * 3 * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "cue_columns: arrays of mismatched sizes");
        goto done;
    }
    mass = PyMem_Calloc(n + 1, sizeof(double)); out = PyMem_Calloc(n * groups + 1, sizeof(double));
    depth = PyMem_Calloc((n + 1) * groups, sizeof(int32_t));
    if (!mass || !out || !depth) { PyErr_NoMemory(); goto done; }
    const double *words = wb.buf;
    const int32_t *r = rb.buf;
    for (Py_ssize_t i = 0; i < n; i++) mass[i + 1] = mass[i] + words[i];
    const double cap = share * (mass[n] > 1 ? mass[n] : 1);
    for (Py_ssize_t j = 0; j < k; j++) {
        Py_ssize_t a = r[3 * j], b = r[3 * j + 1];
        uint32_t bits = (uint32_t)r[3 * j + 2];
        if (a < 0) a = 0;
        if (b > n) b = n;
        if (b <= a || mass[b] - mass[a] >= cap) continue;
        for (int g = 0; g < groups; g++)
            if (bits >> g & 1) { depth[a * groups + g]++; depth[b * groups + g]--; }
    }
    for (int g = 0; g < groups; g++) {
        int32_t d = 0;
        for (Py_ssize_t i = 0; i < n; i++) { d += depth[i * groups + g]; out[i * groups + g] = d > 0; }
    }
    result = PyBytes_FromStringAndSize((const char *)out, n * groups * (Py_ssize_t)sizeof(double));
done:
    PyMem_Free(mass); PyMem_Free(out); PyMem_Free(depth);
    PyBuffer_Release(&wb); PyBuffer_Release(&rb);
    return result;
}

static PyMethodDef methods[] = {{"walk", walk, METH_O, "Render HTML to tagged lines (see the file header)."},
                                {"cue_columns", cue_columns, METH_VARARGS,
                                 "Per-line cue-group flags from the walk's cue ranges (see above)."},
                                {"container_features", container_features, METH_VARARGS,
                                 "Per-line statistics of the enclosing containers (see above)."},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_htmlwalk", NULL, -1, methods};

PyMODINIT_FUNC PyInit__htmlwalk(void) {
    ID_P = tag_id("p"); ID_LI = tag_id("li"); ID_UL = tag_id("ul"); ID_OL = tag_id("ol"); ID_DT = tag_id("dt");
    ID_DD = tag_id("dd"); ID_DL = tag_id("dl"); ID_TD = tag_id("td"); ID_TH = tag_id("th"); ID_TR = tag_id("tr");
    ID_TABLE = tag_id("table"); ID_OPTION = tag_id("option"); ID_SELECT = tag_id("select");
    ID_HEAD = tag_id("head"); ID_BODY = tag_id("body"); ID_HTML = tag_id("html"); ID_BUTTON = tag_id("button");
    ID_A = tag_id("a"); ID_FIGURE = tag_id("figure"); ID_FIGCAPTION = tag_id("figcaption");
    ID_HEADER = tag_id("header"); ID_FORM = tag_id("form");
    init_cues();
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "N_CUE_GROUPS", N_CUE_GROUPS) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
