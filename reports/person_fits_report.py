"""The report of ``garden networks fit``: is this person rich or lazy? (``garden networks report``).

Built only from the files a fit wrote (``people.tsv``) and, when there is one, the recovery it was
given (``recovery.tsv``, ``confusion.tsv`` of ``garden networks recover``): per curriculum the best
scales with their intervals, the verdicts (the share "no network describes this person better than
the choice models" first), the recovery table, and findings worded by what recovery allows
(``garden.analysis.networks.fit_summary``).
"""

from __future__ import annotations

import os
from pathlib import Path

from garden.analysis.networks.fit_summary import curriculum_summary, findings
from garden.core.errors import UserError
from garden.core.files import write_file
from garden.core.provenance import read_json
from garden.core.text_tables import read_text_table
from garden.reports import figures
from garden.reports.html import FigureSpec, SectionSpec, Tables, build_sections, render_html

TEXT = ("Networks of every init scale (per-item unit-norm inputs) run through each person's own trials, learning "
        "only on feedback trials, with learning rate, choice temperature and lapse fitted by likelihood and averaged "
        "over init seeds; beside them the factorized, factorized_full and linear choice models and factorized and "
        "linear with a learning curve. A person gets a scale family only when a network's BIC beats every baseline "
        "and p(rich) or p(lazy) ≥ 0.9 (rich: σ ≤ 0.4); a curriculum whose recovery fails gets \"not identifiable\". "
        "The best scale of people no network describes better (grey) says which network fits least badly, not how "
        "the person represents the task.")


def _findings(t: Tables) -> str:
    return findings(t["network_fit_summary"], t.get("network_recovery"))


SECTIONS = (SectionSpec(
    "network_fits", "Is this person rich or lazy? Networks fitted to each person's choices", TEXT,
    (FigureSpec("Verdicts per curriculum", ("network_fit_people",),
                lambda t: figures.verdict_shares(t["network_fit_people"])),
     FigureSpec("Best init scale per person (95 % profile interval over log σ)", ("network_fit_people",),
                lambda t: figures.best_scale_intervals(t["network_fit_people"]))),
    ("network_fit_summary", "network_recovery", "network_confusion"), findings=_findings),)


def fit_tables(fit: str | os.PathLike, recovery: str | os.PathLike | None = None) -> dict:
    """The report's tables from a fit folder and a recovery table (default: the one the fit was given)."""
    fit = Path(fit)
    if not (fit / "people.tsv").exists():
        raise UserError(f"{fit}: has no people.tsv (not a finished `garden networks fit` folder); finish the fit "
                        "by rerunning its command")
    people = read_text_table(fit / "people.tsv", strict=True)
    tables = {"network_fit_people": people, "network_fit_summary": curriculum_summary(people)}
    if recovery is None and (fit / "fit.json").exists():
        recovery = read_json(fit / "fit.json")["settings"].get("recovery")
    if recovery is not None:
        recovery = Path(recovery)
        tables["network_recovery"] = read_text_table(recovery, what="recovery table (garden networks recover)")
        if (recovery.parent / "confusion.tsv").exists():
            tables["network_confusion"] = read_text_table(recovery.parent / "confusion.tsv")
    return tables


def write_fit_report(fit: str | os.PathLike, out: str | os.PathLike | None = None, *,
                     recovery: str | os.PathLike | None = None, overwrite: bool = False, dpi: int = 100) -> Path:
    """Write the HTML report of a fit folder (default ``<fit>/report.html``); returns its path."""
    tables = fit_tables(fit, recovery)
    sections = build_sections(tables, specs=SECTIONS, dpi=dpi, progress=False)
    fit_json = Path(fit) / "fit.json"
    run = {"config": read_json(fit_json)["settings"]} if fit_json.exists() else {}
    text = render_html(sections, run, title="garden networks fit: rich or lazy?")
    return write_file(Path(out) if out is not None else Path(fit) / "report.html", text, overwrite=overwrite)
