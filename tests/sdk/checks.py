"""The report every SDK script of tests/sdk prints: one PASS/FAIL line per check, every check run, then
'N passed, N failed' and a non-zero exit on any failure. (sdk_smoke.py keeps its own copy: it is the
shared smoke test, kept identical to the published one.)"""
import sys

results = []


def check(name, fn, cleanup=None):
    """Runs one check; `cleanup` runs after it whatever happened (e.g. undoing a patch of the SDK)."""
    try:
        fn()
        results.append((name, None))
        print(f"PASS {name}", flush=True)
    except Exception as e:  # report and continue: every check runs
        results.append((name, e))
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    finally:
        if cleanup:
            cleanup()


def finish():
    failed = sum(1 for _, e in results if e)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
