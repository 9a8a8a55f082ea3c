"""The scaffold shared by the repository checkers (tests/layering, tests/docs).

Each checker has a check_tree(root) -> (count, problems) and a table of
self-test cases; this runs either, the same way for every checker:

  <checker> ROOT          check the tree at ROOT; exit 1 on a problem
  <checker> --self-test   every case must be judged as its table says: the
                          checker's negative control
"""
import tempfile


def self_test(cases, write_case, check_tree):
    """cases: {case: must_fail}; write_case(root, case) writes its files."""
    failures = []
    for case, must_fail in cases.items():
        with tempfile.TemporaryDirectory() as root:
            write_case(root, case)
            _, problems = check_tree(root)
            if bool(problems) != must_fail:
                failures.append(f"{case!r}: expected {'a problem' if must_fail else 'none'}, "
                                f"got {problems}")
    for f in failures:
        print("self-test:", f)
    print(f"self-test: {len(cases) - len(failures)} of {len(cases)} cases as expected")
    return 1 if failures else 0


def main(argv, doc, run_self_test, check_tree, what):
    """what: e.g. ("files", "layering violations")."""
    if len(argv) == 2 and argv[1] == "--self-test":
        return run_self_test()
    if len(argv) != 2:
        print(doc)
        return 2
    count, problems = check_tree(argv[1])
    for p in problems:
        print(p)
    print(f"{count} {what[0]} checked, {len(problems)} {what[1]}")
    if count == 0:
        print("nothing to check under", argv[1])
        return 1
    return 1 if problems else 0
