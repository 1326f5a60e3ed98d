"""The captures under ../shared/data/realcaps that the realcaps oracle tables cover (imported by
the make-realcaps-*.py scripts): every non-empty file that is not documentation or data, sorted."""
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

NOT_CAPTURES = re.compile(r'\.(md|txt|tsv|csv|json|sh|zst|gz|xz|py)$', re.I)


def realcaps_root() -> str:
    """The folder named on the command line, else ../shared/data/realcaps beside the repository."""
    default = os.path.join(os.path.dirname(__file__), '../../shared/data/realcaps')
    return os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else default)


def capture_files(root: str) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, _, names in os.walk(root)
        for f in names
        if not NOT_CAPTURES.search(f) and os.path.getsize(os.path.join(d, f)) > 0
    )


def print_table(header: str, row_of, names: list[str]) -> None:
    """Prints the header row, then row_of(name) for every capture, in order, computed on every core."""
    print(header)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for line in pool.map(row_of, names):
            print(line)
