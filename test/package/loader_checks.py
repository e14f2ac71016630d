"""What the tests of python/gru_gen (python_misuse.test.py, python_compile_options.test.py) check
with: each check prints one line, PASS or FAIL, and counts its failures for summary()."""
import mlx.core as mx
import mlx.nn as nn
import numpy as np

failed = 0


def fail():
    global failed
    failed += 1


def compare(what, got, want, bound=1e-5):
    """got against mlx.nn.GRU's want: max |got - want| within bound (1e-5 unless given)."""
    want = np.asarray(want)
    err = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    ok = err <= bound
    if not ok:
        fail()
    print("%s: max |lib - mlx| = %.3g%s %s" % (what, err, "" if bound == 1e-5 else
                                               " <= %g" % bound, "PASS" if ok else "FAIL"))


def check(what, ok):
    if not ok:
        fail()
    print("%s: %s" % (what, ok))


def refuses(what, call, errors=(ValueError, TypeError, RuntimeError)):
    """call() raises one of errors (RuntimeError: gru_gen.GruError, and compile_library's)."""
    try:
        call()
    except errors as e:
        print("%s: %s: %s" % (what, type(e).__name__, e))
    else:
        fail()
        print("%s: accepted FAIL" % what)


def layer(D, H):
    """An mlx.nn.GRU(D, H) and its [Wx, Wh, b, bhn] as float32 NumPy arrays."""
    gru = nn.GRU(D, H)
    mx.eval(gru.parameters())
    return gru, [np.array(gru.parameters()[k], dtype=np.float32) for k in ("Wx", "Wh", "b", "bhn")]


def summary():
    print("all passed" if not failed else "%d FAILED" % failed)
