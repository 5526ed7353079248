/*
 * Optional C kernel of the ISOXML time-log (TLG) decoder (leafnb/formats/isoxml/tlg.py).
 *
 * The numpy implementation in tlg.py is the reference; this kernel computes the same
 * results (same framing, acceptance and resynchronisation rules, same counts) in one
 * sequential pass per chunk:
 *
 *   frame()    walk the records of one chunk: record starts, events (malformed record
 *              resynchronised / DLV index out of range / truncated tail), per-DLV
 *              statistics over every framed record, per-DLV counts of values kept.
 *   extract()  scatter the framed records into caller-allocated dense outputs: Unix ms,
 *              logged PTN fields (raw), per-DLV (kept record index, raw value) in CSR
 *              layout (one value per record and DLV: the last one written).
 *   fill()     per-DLV forward fill into float64 (value x scale, init before the first).
 *
 * All output arrays are allocated by Python (sizes known from the previous step); the
 * kernel never allocates from file-provided numbers. Every byte read is bounds-checked
 * against the buffer length; the DLV count byte is never trusted (checked against the
 * header's DLV count and the bytes left). No recursion. The GIL is released while
 * scanning. Only the Python C API and the C standard library are used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERNEL_ABI 2

#define MS_PER_DAY 86400000LL
#define MS_LIMIT (MS_PER_DAY + 1001LL)
#define EPOCH_1980_MS 315532800000LL
#define MAX_DLV 256
#define MIN_PREFIX 6
#define MAX_PREFIX 64

/* event kinds (see tlg.py) */
#define EV_MALFORMED 1
#define EV_BAD_INDEX 2
#define EV_TRUNCATED 3

/* frame() status */
#define ST_DONE 0
#define ST_EVENTS_FULL 1
#define ST_STARTS_FULL 2

static inline uint32_t rd_u32(const uint8_t *s)
{
    return (uint32_t)s[0] | ((uint32_t)s[1] << 8) | ((uint32_t)s[2] << 16) |
           ((uint32_t)s[3] << 24);
}

static inline uint16_t rd_u16(const uint8_t *s)
{
    return (uint16_t)((uint16_t)s[0] | ((uint16_t)s[1] << 8));
}

static inline int32_t rd_i32(const uint8_t *s)
{
    uint32_t u = rd_u32(s);
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

typedef struct {
    const uint8_t *b;
    Py_ssize_t B;      /* buffer length */
    Py_ssize_t P;      /* bytes before the DLV count byte */
    int n_dlv;         /* DLVs in the header (0..256) */
    Py_ssize_t off_n;  /* offset of PTN A in the record, -1 when not logged */
    Py_ssize_t off_e;  /* offset of PTN B in the record, -1 when not logged */
    double const_lat;  /* header constants used when A / B are not logged */
    double const_lon;
} Tlg;

/* p + P + 1 <= B (the record head incl. its DLV count byte is inside the buffer) */
static inline int fits_head(const Tlg *t, Py_ssize_t p)
{
    return p >= 0 && p <= t->B - t->P - 1;
}

/* bytes of DLV pairs that fit after the head of the record at p (fits_head(p) holds) */
static inline Py_ssize_t pair_room(const Tlg *t, Py_ssize_t p)
{
    return t->B - p - t->P - 1;
}

/*
 * Acceptance of a record at p on the walk (tlg.py: _Framer._reason):
 * 0 acceptable; EV_MALFORMED (head past the end, DLV count > header DLVs, record past
 * the end, time of day >= MS_LIMIT); EV_BAD_INDEX (otherwise sound, but a DLV index is
 * out of range).
 */
static int record_reason(const Tlg *t, Py_ssize_t p)
{
    if (!fits_head(t, p))
        return EV_MALFORMED;
    const uint8_t *r = t->b + p;
    Py_ssize_t c = r[t->P];
    if (c > t->n_dlv || 5 * c > pair_room(t, p))
        return EV_MALFORMED;
    if (rd_u32(r) >= (uint32_t)MS_LIMIT)
        return EV_MALFORMED;
    const uint8_t *q = r + t->P + 1; /* c pairs of 5 bytes: checked above */
    for (Py_ssize_t j = 0; j < c; j++)
        if (q[5 * j] >= t->n_dlv)
            return EV_BAD_INDEX;
    return 0;
}

/* the position test of _plausible (only when both A and B are logged) */
static inline int position_plausible(const Tlg *t, Py_ssize_t p)
{
    if (t->off_n < 0 || t->off_e < 0)
        return 1;
    /* offsets were checked against P at entry and fits_head(p) holds */
    double lat = (double)rd_i32(t->b + p + t->off_n) * 1e-7;
    double lon = (double)rd_i32(t->b + p + t->off_e) * 1e-7;
    return !(fabs(lat) > 90.0 || fabs(lon) > 180.0);
}

/* _plausible(p, check_next=False) */
static inline int plausible1(const Tlg *t, Py_ssize_t p)
{
    return record_reason(t, p) == 0 && position_plausible(t, p);
}

/* _plausible(p, check_next=True): written out, no recursion */
static int plausible2(const Tlg *t, Py_ssize_t p)
{
    if (!plausible1(t, p))
        return 0;
    Py_ssize_t end = p + t->P + 1 + 5 * (Py_ssize_t)t->b[p + t->P];
    if (end < t->B)
        return plausible1(t, end) || !fits_head(t, end);
    return 1;
}

/* _incomplete(p): a record cut by the end of the buffer */
static inline int incomplete(const Tlg *t, Py_ssize_t p)
{
    if (!fits_head(t, p))
        return 1;
    Py_ssize_t c = t->b[p + t->P];
    return c <= t->n_dlv && 5 * c > pair_room(t, p);
}

/*
 * resync(p): the first q in [p + 1, B - P - 1) whose day is within +-1 of day_ref
 * (or in (3650, 40000) without a reference) and that is plausible together with its
 * successor; B when there is none. Linear in the bytes passed over.
 */
static Py_ssize_t resync(const Tlg *t, Py_ssize_t p, long long day_ref)
{
    Py_ssize_t lim = t->B - t->P - 1;
    for (Py_ssize_t q = p + 1; q < lim; q++) {
        /* q + P + 1 < B and P >= 6: bytes q .. q + 5 are inside the buffer */
        long long days = rd_u16(t->b + q + 4);
        if (day_ref >= 0) {
            if (days - day_ref > 1 || day_ref - days > 1)
                continue;
        } else if (!(days > 3650 && days < 40000)) {
            continue;
        }
        if (plausible2(t, q))
            return q;
    }
    return t->B;
}

/* keep rule of decode_tlg: |lat| <= 90, |lon| <= 180, not exactly (0, 0) */
static inline int keep_position(const Tlg *t, const uint8_t *r)
{
    double lat = t->off_n >= 0 ? (double)rd_i32(r + t->off_n) * 1e-7 : t->const_lat;
    double lon = t->off_e >= 0 ? (double)rd_i32(r + t->off_e) * 1e-7 : t->const_lon;
    return fabs(lat) <= 90.0 && fabs(lon) <= 180.0 && !(lat == 0.0 && lon == 0.0);
}

static int check_layout(const Tlg *t)
{
    if (t->P < MIN_PREFIX || t->P > MAX_PREFIX) {
        PyErr_SetString(PyExc_ValueError, "record prefix out of range");
        return -1;
    }
    if (t->n_dlv < 0 || t->n_dlv > MAX_DLV) {
        PyErr_SetString(PyExc_ValueError, "DLV count out of range");
        return -1;
    }
    if ((t->off_n != -1 && (t->off_n < MIN_PREFIX || t->off_n > t->P - 4)) ||
        (t->off_e != -1 && (t->off_e < MIN_PREFIX || t->off_e > t->P - 4))) {
        PyErr_SetString(PyExc_ValueError, "position offset out of range");
        return -1;
    }
    return 0;
}

static int aligned(const Py_buffer *v, size_t a)
{
    return ((uintptr_t)v->buf % a) == 0;
}

/*
 * frame(buf, P, n_dlv, off_n, off_e, const_lat, const_lon, day_ref, p, ns, final,
 *       starts, events, cnt_all, vmin, vmax, kept_cnt)
 *   -> (status, p, ns, kept_added, day_ref, n_events)
 *
 * Walks from byte p; record starts are appended to starts (int64) from index ns;
 * events (int64 triplets kind, p, q) are written from index 0. cnt_all / vmin / vmax
 * (int64, n_dlv each; vmin / vmax start at INT64_MAX / INT64_MIN) accumulate over
 * every framed record; kept_cnt (int64, n_dlv)
 * counts values of records with a possible position (one per record and DLV).
 * status: 0 done (p = bytes consumed), 1 events buffer full (call again from p),
 * 2 starts buffer full (cannot happen with the capacity tlg.py allocates).
 */
static PyObject *k_frame(PyObject *self, PyObject *args)
{
    Py_buffer vb = {0}, vstarts = {0}, vev = {0}, vcnt = {0}, vmin = {0}, vmax = {0},
              vkc = {0};
    Tlg t;
    long long day_ref;
    Py_ssize_t p, ns;
    int final, n_dlv;
    PyObject *ret = NULL;

    if (!PyArg_ParseTuple(args, "y*ninnddLnnpw*w*w*w*w*w*", &vb, &t.P, &n_dlv,
                          &t.off_n, &t.off_e, &t.const_lat, &t.const_lon, &day_ref,
                          &p, &ns, &final, &vstarts, &vev, &vcnt, &vmin, &vmax, &vkc))
        return NULL;
    t.b = (const uint8_t *)vb.buf;
    t.B = vb.len;
    t.n_dlv = n_dlv;
    if (check_layout(&t) < 0)
        goto done;
    Py_ssize_t need = (Py_ssize_t)n_dlv * 8;
    if (vcnt.len < need || vmin.len < need || vmax.len < need || vkc.len < need ||
        !aligned(&vcnt, 8) || !aligned(&vmin, 8) || !aligned(&vmax, 8) ||
        !aligned(&vkc, 8) || !aligned(&vstarts, 8) || !aligned(&vev, 8)) {
        PyErr_SetString(PyExc_ValueError, "statistics buffers too small or misaligned");
        goto done;
    }
    Py_ssize_t cap_starts = vstarts.len / 8;
    Py_ssize_t cap_ev = vev.len / 24;
    if (p < 0 || p > t.B || ns < 0 || ns > cap_starts) {
        PyErr_SetString(PyExc_ValueError, "position or start count out of range");
        goto done;
    }
    if (day_ref < -1 || day_ref > 65535)
        day_ref = -1;

    int64_t *starts = (int64_t *)vstarts.buf;
    int64_t *ev = (int64_t *)vev.buf;
    int64_t *cnt = (int64_t *)vcnt.buf;
    int64_t *mn = (int64_t *)vmin.buf;
    int64_t *mx = (int64_t *)vmax.buf;
    int64_t *kc = (int64_t *)vkc.buf;
    Py_ssize_t nev = 0, kept = 0;
    int status = ST_DONE;

    Py_BEGIN_ALLOW_THREADS
    uint64_t stamp[MAX_DLV];
    uint64_t serial = 0;
    memset(stamp, 0, sizeof stamp);
    const Py_ssize_t P = t.P;
    const uint8_t *b = t.b;
    const Py_ssize_t B = t.B;
    while (p < B) {
        int why;
        if (p <= B - P - 1) {
            /* fast path: inline acceptance of a record whose head fits */
            const uint8_t *r = b + p;
            Py_ssize_t c = r[P];
            if (c > n_dlv || 5 * c > B - p - P - 1) {
                if (c <= n_dlv) { /* cut by the end of the buffer */
                    if (final) {
                        if (nev == cap_ev) { status = ST_EVENTS_FULL; break; }
                        ev[3 * nev] = EV_TRUNCATED; ev[3 * nev + 1] = p;
                        ev[3 * nev + 2] = B - p; nev++;
                        p = B;
                    }
                    break;
                }
                why = EV_MALFORMED;
            } else if (rd_u32(r) >= (uint32_t)MS_LIMIT) {
                why = EV_MALFORMED;
            } else {
                const uint8_t *q = r + P + 1;
                why = 0;
                for (Py_ssize_t j = 0; j < c; j++)
                    if (q[5 * j] >= n_dlv) { why = EV_BAD_INDEX; break; }
            }
            if (why == 0) {
                if (ns >= cap_starts) { status = ST_STARTS_FULL; break; }
                starts[ns++] = p;
                day_ref = rd_u16(r + 4);
                const uint8_t *q = r + P + 1;
                for (Py_ssize_t j = 0; j < c; j++) {
                    unsigned i = q[5 * j];
                    int64_t v = rd_i32(q + 5 * j + 1);
                    if (v < mn[i]) mn[i] = v; /* callers start at INT64_MAX / MIN */
                    if (v > mx[i]) mx[i] = v;
                    cnt[i]++;
                }
                if (keep_position(&t, r)) {
                    kept++;
                    serial++;
                    for (Py_ssize_t j = 0; j < c; j++) {
                        unsigned i = q[5 * j];
                        if (stamp[i] != serial) { stamp[i] = serial; kc[i]++; }
                    }
                }
                p += P + 1 + 5 * c;
                continue;
            }
        } else {
            /* head past the end: truncated tail */
            if (final) {
                if (nev == cap_ev) { status = ST_EVENTS_FULL; break; }
                ev[3 * nev] = EV_TRUNCATED; ev[3 * nev + 1] = p; ev[3 * nev + 2] = B - p;
                nev++;
                p = B;
            }
            break;
        }
        if (nev == cap_ev) { status = ST_EVENTS_FULL; break; }
        Py_ssize_t q = resync(&t, p, day_ref);
        ev[3 * nev] = why; ev[3 * nev + 1] = p; ev[3 * nev + 2] = q;
        nev++;
        p = q;
    }
    Py_END_ALLOW_THREADS

    ret = Py_BuildValue("(innnLn)", status, p < t.B ? p : t.B, ns, kept, day_ref, nev);
done:
    PyBuffer_Release(&vb);
    PyBuffer_Release(&vstarts);
    PyBuffer_Release(&vev);
    PyBuffer_Release(&vcnt);
    PyBuffer_Release(&vmin);
    PyBuffer_Release(&vmax);
    PyBuffer_Release(&vkc);
    return ret;
}

/*
 * extract(buf, P, n_dlv, off_n, off_e, const_lat, const_lon, layout, starts, ns,
 *         n_kept, kept_base, bounds, cursor, time_out, ptn_out, rec_out, val_out)
 *   -> kept records written
 *
 * Outputs are for n_kept records in all; this call writes records kept_base, ... (one
 * call per chunk). layout: int64 triplets (record offset, size 1/2/4, byte offset in
 * ptn_out) per logged PTN field; field f of kept record j is written at
 * ptn_out[dst + j * size]. bounds: int64[n_dlv + 1] CSR offsets of the per-DLV
 * (rec, val) runs in rec_out (int64) / val_out (int32); cursor: int64[n_dlv] next
 * write position per DLV (in/out, within its run). Records whose position is
 * impossible are skipped. Every start is re-validated against the buffer.
 */
static PyObject *k_extract(PyObject *self, PyObject *args)
{
    Py_buffer vb = {0}, vlay = {0}, vstarts = {0}, vbounds = {0}, vcur = {0},
              vtime = {0}, vptn = {0}, vrec = {0}, vval = {0};
    Tlg t;
    int n_dlv;
    Py_ssize_t ns, n_kept;
    long long kept_base;
    PyObject *ret = NULL;

    if (!PyArg_ParseTuple(args, "y*ninnddy*y*nnLy*w*w*w*w*w*", &vb, &t.P, &n_dlv,
                          &t.off_n, &t.off_e, &t.const_lat, &t.const_lon, &vlay,
                          &vstarts, &ns, &n_kept, &kept_base, &vbounds, &vcur, &vtime,
                          &vptn, &vrec, &vval))
        return NULL;
    t.b = (const uint8_t *)vb.buf;
    t.B = vb.len;
    t.n_dlv = n_dlv;
    if (check_layout(&t) < 0)
        goto done;
    if (!aligned(&vlay, 8) || !aligned(&vstarts, 8) || !aligned(&vbounds, 8) ||
        !aligned(&vcur, 8) || !aligned(&vtime, 8) || !aligned(&vrec, 8) ||
        !aligned(&vval, 4)) {
        PyErr_SetString(PyExc_ValueError, "misaligned buffer");
        goto done;
    }
    if (ns < 0 || ns > vstarts.len / 8 || n_kept < 0 || vtime.len / 8 < n_kept ||
        kept_base < 0 || kept_base > n_kept ||
        vbounds.len < ((Py_ssize_t)n_dlv + 1) * 8 || vcur.len < (Py_ssize_t)n_dlv * 8) {
        PyErr_SetString(PyExc_ValueError, "record counts / output sizes inconsistent");
        goto done;
    }
    const int64_t *lay = (const int64_t *)vlay.buf;
    Py_ssize_t nf = vlay.len / 24;
    if (nf > 9) {
        PyErr_SetString(PyExc_ValueError, "too many PTN fields");
        goto done;
    }
    Py_ssize_t f_src[9], f_size[9], f_dst[9];
    for (Py_ssize_t f = 0; f < nf; f++) {
        int64_t src = lay[3 * f], size = lay[3 * f + 1], dst = lay[3 * f + 2];
        if (!(size == 1 || size == 2 || size == 4) || src < MIN_PREFIX ||
            src > t.P - size || dst < 0 || dst > vptn.len ||
            n_kept > (vptn.len - dst) / size) {
            PyErr_SetString(PyExc_ValueError, "PTN field layout out of range");
            goto done;
        }
        f_src[f] = (Py_ssize_t)src;
        f_size[f] = (Py_ssize_t)size;
        f_dst[f] = (Py_ssize_t)dst;
    }
    const int64_t *bounds = (const int64_t *)vbounds.buf;
    int64_t *cursor = (int64_t *)vcur.buf;
    if (bounds[0] < 0) {
        PyErr_SetString(PyExc_ValueError, "bad DLV bounds");
        goto done;
    }
    for (int i = 0; i < n_dlv; i++) {
        if (bounds[i + 1] < bounds[i] || cursor[i] < bounds[i] ||
            cursor[i] > bounds[i + 1]) {
            PyErr_SetString(PyExc_ValueError, "bad DLV bounds or cursor");
            goto done;
        }
    }
    if (bounds[n_dlv] > vrec.len / 8 || bounds[n_dlv] > vval.len / 4) {
        PyErr_SetString(PyExc_ValueError, "DLV outputs too small");
        goto done;
    }

    const int64_t *starts = (const int64_t *)vstarts.buf;
    int64_t *tout = (int64_t *)vtime.buf;
    uint8_t *pout = (uint8_t *)vptn.buf;
    int64_t *rout = (int64_t *)vrec.buf;
    int32_t *vout = (int32_t *)vval.buf;
    const char *err = NULL;
    Py_ssize_t j = (Py_ssize_t)kept_base;

    Py_BEGIN_ALLOW_THREADS
    const Py_ssize_t P = t.P;
    for (Py_ssize_t k = 0; k < ns; k++) {
        Py_ssize_t p = (Py_ssize_t)starts[k];
        if (!fits_head(&t, p)) { err = "record start out of range"; break; }
        const uint8_t *r = t.b + p;
        Py_ssize_t c = r[P];
        if (c > n_dlv || 5 * c > pair_room(&t, p)) { err = "record past the end"; break; }
        if (!keep_position(&t, r))
            continue;
        if (j >= n_kept) { err = "more kept records than allocated"; break; }
        tout[j] = EPOCH_1980_MS + (int64_t)rd_u16(r + 4) * MS_PER_DAY + (int64_t)rd_u32(r);
        for (Py_ssize_t f = 0; f < nf; f++) {
            uint8_t *d = pout + f_dst[f] + j * f_size[f];
            const uint8_t *s = r + f_src[f];
            switch (f_size[f]) { /* fixed sizes: inlined copies */
            case 4: memcpy(d, s, 4); break;
            case 2: memcpy(d, s, 2); break;
            default: *d = *s; break;
            }
        }
        int64_t recno = (int64_t)j;
        const uint8_t *q = r + P + 1;
        for (Py_ssize_t m = 0; m < c; m++) {
            unsigned i = q[5 * m];
            if ((int)i >= n_dlv) { err = "DLV index out of range"; break; }
            int32_t v = rd_i32(q + 5 * m + 1);
            int64_t at = cursor[i];
            if (at > bounds[i] && rout[at - 1] == recno) {
                vout[at - 1] = v; /* one value per record: the last one written */
            } else {
                if (at >= bounds[i + 1]) { err = "more DLV values than allocated"; break; }
                rout[at] = recno;
                vout[at] = v;
                cursor[i] = at + 1;
            }
        }
        if (err)
            break;
        j++;
    }
    Py_END_ALLOW_THREADS

    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    ret = PyLong_FromSsize_t(j - (Py_ssize_t)kept_base);
done:
    PyBuffer_Release(&vb);
    PyBuffer_Release(&vlay);
    PyBuffer_Release(&vstarts);
    PyBuffer_Release(&vbounds);
    PyBuffer_Release(&vcur);
    PyBuffer_Release(&vtime);
    PyBuffer_Release(&vptn);
    PyBuffer_Release(&vrec);
    PyBuffer_Release(&vval);
    return ret;
}

/*
 * fill(rec, val, n, init, scale, out): out[r] (float64, n records) = val[j] * scale for
 * rec[j] <= r < rec[j + 1], init before rec[0]. rec must be strictly increasing in
 * [0, n) (checked).
 */
static PyObject *k_fill(PyObject *self, PyObject *args)
{
    Py_buffer vrec = {0}, vval = {0}, vout = {0};
    Py_ssize_t n;
    double init, scale;
    PyObject *ret = NULL;

    if (!PyArg_ParseTuple(args, "y*y*nddw*", &vrec, &vval, &n, &init, &scale, &vout))
        return NULL;
    Py_ssize_t m = vrec.len / 8;
    if (!aligned(&vrec, 8) || !aligned(&vval, 4) || !aligned(&vout, 8) ||
        vval.len / 4 != m || n < 0 || vout.len / 8 < n) {
        PyErr_SetString(PyExc_ValueError, "fill: inconsistent buffers");
        goto done;
    }
    const int64_t *rec = (const int64_t *)vrec.buf;
    const int32_t *val = (const int32_t *)vval.buf;
    double *out = (double *)vout.buf;
    const char *err = NULL;

    Py_BEGIN_ALLOW_THREADS
    int64_t first = m ? rec[0] : (int64_t)n;
    if (first < 0 || first > n) {
        err = "fill: record index out of range";
    } else {
        for (int64_t r = 0; r < first; r++)
            out[r] = init;
        for (Py_ssize_t k = 0; k < m; k++) {
            int64_t lo = rec[k];
            int64_t hi = k + 1 < m ? rec[k + 1] : (int64_t)n;
            if (hi <= lo || hi > n) { err = "fill: record indices not increasing or out of range"; break; }
            double v = (double)val[k] * scale;
            for (int64_t r = lo; r < hi; r++)
                out[r] = v;
        }
    }
    Py_END_ALLOW_THREADS

    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&vrec);
    PyBuffer_Release(&vval);
    PyBuffer_Release(&vout);
    return ret;
}

static PyMethodDef methods[] = {
    {"frame", k_frame, METH_VARARGS, "Frame the records of one chunk (see tlg.py)."},
    {"extract", k_extract, METH_VARARGS, "Scatter framed records into dense outputs."},
    {"fill", k_fill, METH_VARARGS, "Forward fill one DLV into float64."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tlgkernel",
    "C kernel of the ISOXML time-log decoder (optional; tlg.py falls back to numpy).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__tlgkernel(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "ABI", KERNEL_ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
