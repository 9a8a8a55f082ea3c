#!/usr/bin/env python3
"""Fails when README.md or docs/ link to a file the repository does not have.

A clone has only what is in the repository: a link to ../shared/..., to a
file that moved, or to a path that leaves the tree is a dead end for the
reader. Checks Markdown links [text](target) and backticked paths that look
like repository files (`docs/x.md`, `server/domain/y.h`; not in the
design sketches of docs/design/, which name files still to be written); web links
(http, https, mailto) and anchors within a page are not checked.

  check_links.py ROOT          check ROOT/README.md, ROOT/*/README.md, ROOT/docs/**.md
  check_links.py --self-test   a page with dead links must fail, a good one pass
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tooling"))
import tree_check  # noqa: E402

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A backticked repository path: starts with a top-level folder of the tree.
PATH = re.compile(r"`((?:docs|server|storage|common|client|tests|bench|scripts|protos)/"
                  r"[A-Za-z0-9_./-]+\.(?:md|h|cc|py|sh|proto|txt))`")


def pages(root):
    out = []
    for name in sorted(os.listdir(root)):
        candidate = os.path.join(root, name, "README.md") if os.path.isdir(
            os.path.join(root, name)) else None
        if candidate and os.path.isfile(candidate):
            out.append(candidate)
    if os.path.isfile(os.path.join(root, "README.md")):
        out.append(os.path.join(root, "README.md"))
    for dirpath, _, files in os.walk(os.path.join(root, "docs")):
        out.extend(os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".md"))
    return sorted(set(out))


def check_page(root, page):
    problems = []
    base = os.path.dirname(page)
    rel_page = os.path.relpath(page, root)
    with open(page, encoding="utf-8") as f:
        text = f.read()
    for number, line in enumerate(text.splitlines(), 1):
        for target in LINK.findall(line):
            if re.match(r"^(https?:|mailto:|#)", target):
                continue
            path = target.split("#", 1)[0]
            resolved = os.path.normpath(os.path.join(base, path))
            if not resolved.startswith(os.path.abspath(root) + os.sep) and \
                    resolved != os.path.abspath(root):
                problems.append(f"{rel_page}:{number}: {target} leaves the repository")
            elif not os.path.exists(resolved):
                problems.append(f"{rel_page}:{number}: {target} does not exist")
        # A design sketch names files that do not exist yet.
        sketch = rel_page.startswith("docs/design/")
        for path in ([] if sketch else PATH.findall(line)):
            # Repository paths in prose are relative to the root.
            if not os.path.exists(os.path.join(root, path)):
                problems.append(f"{rel_page}:{number}: `{path}` does not exist")
    if "../shared" in text:
        problems.append(f"{rel_page}: names ../shared, which a clone does not have")
    return problems


def check_tree(root):
    root = os.path.abspath(root)
    found = pages(root)
    problems = []
    for page in found:
        problems.extend(check_page(root, page))
    return len(found), problems


def self_test():
    cases = {
        "[ok](docs/a.md) and `docs/a.md`": False,
        "[dead](docs/missing.md)": True,
        "[out](../shared/DESIGN.md)": True,
        "see `server/domain/gone.h`": True,
        "[web](https://example.com/x.md) [anchor](#top)": False,
        "[ok with anchor](docs/a.md#part)": False,
    }
    def write_case(root, text):
        os.makedirs(os.path.join(root, "docs"))
        with open(os.path.join(root, "docs", "a.md"), "w", encoding="utf-8") as f:
            f.write("# a\n")
        with open(os.path.join(root, "README.md"), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return tree_check.self_test(cases, write_case, check_tree)


def main(argv):
    return tree_check.main(argv, __doc__, self_test, check_tree,
                           ("pages", "dead links"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
