"""Derive corrected judgments for ../shared/bench-data/business-reports from a topic table.

    python bench/data/business_reports_qrels.py [--check]

The published qrels judge only q_12..q_22, and each against the next of the
first eleven reports in corpus order (q_12, about Asian geopolitics, against the
Global Banking Annual Review; q_13, about net-zero quick wins, against a
corporate-venturing report...): a shift, not judgments; only q_15 lands on
its own report, by coincidence. ``--check`` prints each
published pair with the report's title, which shows it.

The rule used instead, visible line by line in ``business-reports-topics.tsv``:
every question names the topic of one report by its title (q_1 "AI agents ...
retail banking" -> "From Branches to Bots: Will AI Agents Transform Retail
Banking?"); questions q_24..q_50 restate q_1..q_27 in other words and get the
same report. Every passage of that report counts as relevant (grade 1), as the
published file does for the reports it names. Hub pages (newsletters, "Latest
insights", podcasts) are judged for no question, so the scores are a lower
bound where one of them also answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "shared" / "bench-data" / "business-reports"
TOPICS = HERE / "business-reports-topics.tsv"
OUT = HERE / "business-reports-qrels.corrected.tsv"


def report_of(passage_id: str) -> str:
    """``59f11d5004ed84ad_chunk_3`` -> ``59f11d5004ed84ad``."""
    return passage_id.rsplit("_chunk_", 1)[0]


def corpus_reports(data: Path) -> dict[str, list[dict]]:
    """Report id -> its passages, in corpus order."""
    reports: dict[str, list[dict]] = {}
    for line in (data / "corpus.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        reports.setdefault(report_of(doc["_id"]), []).append(doc)
    return reports


def read_topics(path: Path = TOPICS) -> dict[str, str]:
    """Query id -> report id, from the reviewed table (header line first)."""
    rows = [line.rstrip("\n").split("\t") for line in path.open(encoding="utf-8")][1:]
    return {row[0]: row[1] for row in rows if row and row[0]}


def corrected(data: Path = DATA, topics: Path = TOPICS) -> list[tuple[str, str, int]]:
    """(query id, passage id, grade) for every passage of each question's report."""
    reports = corpus_reports(data)
    out = []
    for qid, report in read_topics(topics).items():
        out += [(qid, doc["_id"], 1) for doc in reports[report]]
    return out


def check(data: Path = DATA) -> None:
    """Print each published judgment as question -> report title."""
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (data / "queries.jsonl").open(encoding="utf-8"))
    }
    titles = {r: docs[0]["title"] for r, docs in corpus_reports(data).items()}
    seen = set()
    for line in list((data / "qrels" / "test.tsv").open(encoding="utf-8"))[1:]:
        qid, pid, _ = line.rstrip("\n").split("\t")
        if (qid, report_of(pid)) not in seen:
            seen.add((qid, report_of(pid)))
            print(f"{qid}: {queries[qid]}\n   judged: {titles[report_of(pid)]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="show the published pairs")
    args = parser.parse_args(argv)
    if args.check:
        check()
        return 0
    rows = corrected()
    with OUT.open("w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        handle.writelines(f"{q}\t{p}\t{g}\n" for q, p, g in rows)
    print(f"{len(rows)} judgments for {len({q for q, _, _ in rows})} questions -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
