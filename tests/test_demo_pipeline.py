"""``garden demo`` end to end with tiny settings, and ``garden report`` rebuilding from its outputs."""

from __future__ import annotations

import html
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from built_once import built_once

from garden.analysis.behaviour.grid_prior import change_test, grid_priors, prior_change
from garden.cli import main
from garden.pipeline import DemoConfig, scanned_participants
from report_browser import AT_1280, IMAGES, WINDOW_1280, read_page
from report_spy import drawn_figures, embedded_figures
from garden.reports.html import CONTENT_PX, SECTIONS as ALL_SECTIONS

SECTIONS = tuple(spec for spec in ALL_SECTIONS if spec.in_demo)
"""The report sections a demo fills (the evidence section is `garden neural networks`, run apart from the demo)."""

TINY = ["--participants", "4", "--seed", "3", "--scales", "0.01,3", "--ctx-scales", "0.5,1.5",
        "--network-seeds", "2", "--steps", "300", "--recovery-agents", "2", "--scanner-participants", "3",
        "--dpi", "30"]


pytestmark = pytest.mark.built_once


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One `garden demo` run, read (never changed) by the tests on both xdist workers; beside it, ``drawn.json``:
    each figure its report embedded, as the report drew it (``report_spy``)."""
    def build(folder):
        with drawn_figures() as drawn:
            assert main(["demo", "--out", str(folder / "run"), *TINY]) == 0
        (folder / "drawn.json").write_text(json.dumps(drawn))
    return built_once(tmp_path_factory, "demo", build) / "run"


PAGE_SCRIPTS = {**AT_1280, "images": IMAGES, "sections": "Array.from(document.querySelectorAll('section')).map(s => s.id)",
                "neural": "Array.from(document.querySelectorAll('#neural img'))"
                          ".map(i => [i.alt, i.complete, i.naturalWidth, i.getBoundingClientRect().height])",
                "notes": "document.querySelectorAll('.note').length"}
"""What the Chromium tests read from the demo's report (``report_browser``'s scripts, the sections, the neural
section's images with their shown height in CSS px, the number of incomplete-section notes)."""


@pytest.fixture(scope="module")
def demo_page(demo):
    """(what ``PAGE_SCRIPTS`` give, the URLs requested outside the file) of the demo's report in a 1 280 x 900
    window: one Chromium page load for the tests that open the report."""
    return read_page(demo / "report.html", PAGE_SCRIPTS, viewport=WINDOW_1280)


def test_demo_writes_report_tables_sidecars_and_participants(demo):
    text = (demo / "report.html").read_text(encoding="utf-8")
    for spec in SECTIONS:
        assert f"<section id='{spec.key}'>" in text
    assert len(re.findall(r"data:image/png;base64,", text)) >= 3
    tables = sorted((demo / "tables").glob("*.tsv"))
    assert tables
    for table in tables:
        sidecar = json.loads(table.with_suffix(".json").read_text())
        assert sidecar["seed"] == 3 and sidecar["config"]["participants"] == 4
    assert len(list((demo / "participants").glob("sub-P0*"))) == 4
    first, second = (pd.read_csv(next((demo / "participants").glob(f"sub-{p}/ses-1/beh/*_task-garden_beh.tsv")),
                                 sep="\t")
                     for p in ("P01", "P03"))  # same curriculum, different (seeded) sequences
    assert not first[["context", "branchiness", "leafiness"]].equals(second[["context", "branchiness", "leafiness"]])
    assert (demo / "stimuli" / "manifest.json").exists()
    run = json.loads((demo / "run.json").read_text())
    assert set(run["timings_s"]) == {"stimuli", "participants", "grid_prior", "choice_models", "model_comparison",
                                     "recovery", "behaviour", "behaviour_checks", "choice_rdms", "networks", "geometry",
                                     "people_vs_networks", "matched_networks", "scanner", "scanner_glm", "scanner_rdms",
                                     "scanner_sensitivity", "neural"}
    assert set(run["cpu_s"]) == set(run["timings_s"]) and all(v >= 0 for v in run["cpu_s"].values())
    assert sum(run["cpu_s"].values()) > 1  # the networks and fits alone take seconds of CPU


def test_demo_reports_how_its_neural_conclusions_depend_on_the_hrf_and_the_distance(demo):
    """Every ROI under 4 HRFs x 3 distances; an ROI is flagged exactly when its readings differ."""
    table = pd.read_csv(demo / "tables" / "neural_sensitivity.tsv", sep="\t")
    assert set(table["hrf"]) == {"glover", "spm", "glover + derivative", "spm + derivative"}
    assert table["distance"].nunique() == 3
    assert table.groupby("roi").size().eq(12).all() and set(table["roi"]) >= {"rich", "lazy", "noise"}
    changes = table.groupby("roi")[["reading", "relevance_reading"]].nunique().max(axis=1) > 1
    assert table.groupby("roi")["flagged"].all().equals(changes)
    lazy = table[table["roi"] == "lazy"]
    assert (lazy["contrast_mean"] < 0).all()  # the lazy (grid) ROI reads grid > orthogonal under every variant


def test_demo_reports_the_grid_prior_of_its_simulated_arrangements(demo):
    noise = pd.read_csv(demo / "tables" / "simulated_arrangements.tsv", sep="\t")
    assert len(noise) == 8 and set(noise.phase) == {"pre", "post"} and set(noise.session) == {1, 2}
    change = pd.read_csv(demo / "tables" / "grid_prior.tsv", sep="\t")
    assert len(change) == 4 and change.change.notna().all()
    # more noise, lower grid prior: the simulated arrangers' order is recovered
    tau = change.melt("participant_id", ["grid_prior_pre", "grid_prior_post"], "phase", "tau")
    tau["phase"] = tau.phase.str.removeprefix("grid_prior_")
    merged = noise.merge(tau, on=["participant_id", "phase"])
    assert merged.noise.corr(merged.tau, method="spearman") < -0.8
    test = pd.read_csv(demo / "tables" / "grid_prior_test.tsv", sep="\t").iloc[0]
    text = (demo / "report.html").read_text(encoding="utf-8")
    assert f"own changes is {test.median_change:+.3f}" in text and "<section id='grid_prior'>" in text


def test_demo_trains_the_requested_sweep_and_compares_people_with_it(demo):
    summary = pd.read_csv(demo / "tables" / "network_summary.tsv", sep="\t")
    assert sorted(zip(summary.scale, summary.seed)) == [(0.01, 3), (0.01, 4), (3.0, 3), (3.0, 4)]
    mds = pd.read_csv(demo / "tables" / "mds_networks.tsv", sep="\t")
    assert set(mds.panel) == {"σ = 0.01", "σ = 3"} and len(mds) == 2 * 50
    people = pd.read_csv(demo / "tables" / "mds_people.tsv", sep="\t")
    assert set(people.panel) == {"blocked", "interleaved"}  # one panel per curriculum
    assert {"dim1", "dim2", "dim3"} <= set(mds.columns)  # 3-D MDS
    compression = pd.read_csv(demo / "tables" / "network_compression.tsv", sep="\t")
    assert len(compression) == 4 and compression.rmse.notna().all()
    paired = pd.read_csv(demo / "tables" / "network_paired_tests.tsv", sep="\t")
    assert paired.set_index("measure").n_seeds["log_irrelevant_gain"] == 2   # rows with every scale
    overlap = pd.read_csv(demo / "tables" / "network_gating_overlap.tsv", sep="\t")
    assert len(overlap) == 4 * 2 * 2 and overlap.active_jaccard.between(0, 1).all()   # nets x init/final x rules
    dynamics = pd.read_csv(demo / "tables" / "network_gating_dynamics.tsv", sep="\t")
    assert set(dynamics.step) >= {0} and dynamics.ctx_corr_all.notna().all()
    text = (demo / "report.html").read_text(encoding="utf-8")
    assert "Paired by seed" in text and "compression of the irrelevant feature = log_irrelevant_gain" in text
    assert ("Compression of the irrelevant feature (log irrelevant / relevant gain of our compression model; 0 like a "
            "grid, below 0 compressed): median slope") in text
    assert "Overlap of the units active in each context (gating)" in text and "<h3>network gating tests</h3>" in text
    best = pd.read_csv(demo / "tables" / "best_scale.tsv", sep="\t")
    assert set(best.group) == {"blocked", "interleaved"} and set(best.best_scale) <= {0.01, 3.0}


def test_demo_recovers_the_simulated_agents_choice_models(demo):
    agents = pd.read_csv(demo / "tables" / "simulated_agents.tsv", sep="\t")
    betas = pd.read_csv(demo / "tables" / "choice_rdm_betas.tsv", sep="\t")
    betas = betas.merge(agents[["participant_id", "agent"]], on="participant_id")
    assert set(betas.group) == {"blocked", "interleaved"}
    winner = betas.beta_factorized > betas.beta_linear
    assert (winner == (betas.agent == "factorized")).all()


def test_demo_fits_the_choice_models_to_every_participant(demo):
    fits = pd.read_csv(demo / "tables" / "fits.tsv", sep="\t")
    assert sorted(fits.model.unique()) == ["factorized", "factorized_full", "linear"]
    assert fits.participant_id.nunique() == 4
    curves = pd.read_csv(demo / "tables" / "psychometric_curves.tsv", sep="\t")
    assert curves.p_model.between(0, 1).all()
    boundaries = pd.read_csv(demo / "tables" / "boundaries.tsv", sep="\t")
    assert len(boundaries) == 4 * 3 * 2  # participants x models x contexts (rules 1-4 are cardinal)
    bms = pd.read_csv(demo / "tables" / "bms.tsv", sep="\t")
    assert set(bms.group) == {"blocked", "interleaved", "all"}
    np.testing.assert_allclose(bms.groupby("group").expected_frequency.sum(), 1.0)
    assert json.loads((demo / "tables" / "skipped.json").read_text()) == {}
    families = pd.read_csv(demo / "tables" / "bms_families.tsv", sep="\t")
    assert set(families.family) == {"factorized", "linear"} and set(families.group) == {"blocked", "interleaved", "all"}
    accuracy = pd.read_csv(demo / "tables" / "accuracy_by_phase.tsv", sep="\t")
    assert accuracy["mean"].between(0, 1).all() and {"group", "phase", "sem", "n"} <= set(accuracy.columns)


def test_demo_recovery_and_matched_networks(demo):
    confusion = pd.read_csv(demo / "tables" / "model_recovery.tsv", sep="\t")
    np.testing.assert_allclose(confusion.groupby(["generating_model", "n_test_trials"]).fraction.sum(), 1.0)
    assert set(confusion.n_test_trials) == {100, 200, 400}
    matched = pd.read_csv(demo / "tables" / "matched_parameters.tsv", sep="\t")
    assert set(matched.parameter) == {"bias", "slope", "offset", "lapse"}
    assert matched.participant_id.nunique() == 4 and (matched.n_networks == 2).all()
    accuracy = pd.read_csv(demo / "tables" / "matched_accuracy.tsv", sep="\t")
    assert set(accuracy.scale) == {0.01, 3.0} and accuracy.accuracy_person.between(0, 1).all()
    assert (accuracy.accuracy_networks_min <= accuracy.accuracy_networks).all()
    similarity = pd.read_csv(demo / "tables" / "matched_similarity.tsv", sep="\t")
    assert len(similarity) == 4 * 2 and (similarity.n_networks == 2).all()


def test_demo_runs_the_papers_behavioural_analyses(demo):
    ppc = pd.read_csv(demo / "tables" / "ppc_summary.tsv", sep="\t")
    assert set(ppc.model) == {"factorized", "factorized_full", "linear"} and (ppc.seed == 3).all()
    assert set(ppc.statistic) == {"deviance", "congruency_effect"} and ppc.p_value.between(0, 1).all()
    taus = pd.read_csv(demo / "tables" / "behavioural_rsa.tsv", sep="\t")
    agents = pd.read_csv(demo / "tables" / "simulated_agents.tsv", sep="\t").set_index("participant_id").agent
    linear = taus.set_index("participant_id").tau_linear
    assert linear[agents[agents == "linear"].index].min() > linear[agents[agents == "factorized"].index].max()
    change = pd.read_csv(demo / "tables" / "baseline_scan_tests.tsv", sep="\t")
    assert set(change.parameter) == {"|bias|", "lapse", "slope", "offset", "beta_factorized", "beta_linear"}
    assert set(change.level_a) == {"baseline"} and (change.n_a == 4).all()
    for name in ("slope_tests", "rt_by_phase", "trial_types", "behaviour_rt_tests", "behavioural_rsa_tests"):
        assert len(pd.read_csv(demo / "tables" / f"{name}.tsv", sep="\t")) > 0, name
    text = (demo / "report.html").read_text(encoding="utf-8")
    for caption in ("Choice matrices per participant", "Posterior predictive statistics per model",
                    "Behavioural RSA: τ_a per participant", "Per-participant measures in the baseline and scan phases",
                    "Relevant vs irrelevant sigmoid slopes per participant"):
        assert f"<figcaption>{caption}</figcaption>" in text, caption
    assert "No measure changed at p &lt; 0.05." in text or "Changed at p &lt; 0.05" in text


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_renders_every_figure_in_headless_chromium(demo, demo_page):
    text = (demo / "report.html").read_text(encoding="utf-8")
    found, external = demo_page
    images, sections = found["images"], found["sections"]
    assert external == []
    assert {spec.key for spec in SECTIONS} <= set(sections)
    assert len(images) == text.count("data:image/png;base64,") and len(images) > 25
    assert all(complete and width > 100 for _, complete, width in images), images


def test_demo_simulates_scanner_data_and_fills_the_neural_section(demo):
    truth = json.loads((demo / "neural" / "bold" / "ground_truth.json").read_text())
    assert sorted(truth["participants"]) == ["sub-P01", "sub-P02", "sub-P03"] and truth["config"]["seed"] == 3
    assert len(list((demo / "neural" / "glm").glob("sub-P0*/ses-2/func/*_stat-effect_statmap.nii.gz"))) == 3 * 6
    assert len(list((demo / "neural" / "searchlight").glob("sub-P0*/ses-2/func/*_stat-beta_desc-*_statmap.nii.gz"))) == 3 * 7
    group = pd.read_csv(demo / "tables" / "neural_roi_group.tsv", sep="\t")
    assert set(group.roi) == {"rich", "lazy", "noise"} and (group.groupby("roi").size() == 7).all()
    assert (group.n == 3).all()
    contrast = pd.read_csv(demo / "tables" / "neural_roi_contrasts.tsv", sep="\t").set_index("roi")["mean"]
    assert contrast["rich"] > 0 > contrast["lazy"]   # orthogonal - grid beta, as simulated
    best = pd.read_csv(demo / "tables" / "neural_network_best.tsv", sep="\t")
    assert set(best.best_scale) <= {0.01, 3.0}   # the demo's own sweep
    mds = pd.read_csv(demo / "tables" / "neural_mds.tsv", sep="\t")
    assert list(dict.fromkeys(mds.panel)) == ["lazy", "noise", "rich"] and len(mds) == 3 * 50
    sidecar = json.loads((demo / "tables" / "neural_mds.json").read_text())
    assert sidecar["source"].endswith("neural/stats") and sidecar["config"]["scanner_participants"] == 3
    text = (demo / "report.html").read_text(encoding="utf-8")
    neural = text[text.index("<section id='neural'>"):].split("</section>")[0]
    spec = next(s for s in SECTIONS if s.key == "neural")
    assert neural.count("data:image/png;base64,") == len(spec.figures) == 6
    assert "class='note'" not in neural and "Incomplete sections" not in text
    rich = contrast["rich"]
    assert f"rich: β orthogonal − β grid = {rich:+.3g} (n = 3;" in neural
    assert "best-matching init scale σ = " in neural


def test_scanner_data_needs_a_scanner_protocol_and_three_participants(demo, tmp_path, capsys):
    folder = demo / "participants"
    assert scanned_participants(folder, DemoConfig(participants=4)) == ["P01", "P02", "P03", "P04"]
    assert scanned_participants(folder, DemoConfig(scanner_participants=3)) == ["P01", "P02", "P03"]
    assert scanned_participants(folder, DemoConfig(scanner_participants=0)) == []
    assert scanned_participants(folder, DemoConfig(protocol="flesch2018")) == []
    assert main(["demo", "--out", str(tmp_path / "two"), *TINY, "--scanner-participants", "2"]) == 2
    assert "--scanner-participants: give 0" in capsys.readouterr().err and not (tmp_path / "two").exists()


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_renders_in_headless_chromium(demo_page):
    found, _ = demo_page
    images, notes = found["neural"], found["notes"]
    spec = next(s for s in SECTIONS if s.key == "neural")
    assert [alt for alt, *_ in images] == [f.caption for f in spec.figures]
    assert all(complete and width > 100 and height > 50 for _, complete, width, height in images), images
    assert notes == 0   # no section of the demo is incomplete


def test_demo_refuses_a_non_empty_folder(demo, capsys):
    assert main(["demo", "--out", str(demo), *TINY]) == 2
    assert "not empty" in capsys.readouterr().err


def test_report_refuses_to_replace_the_report_without_overwrite(demo, capsys):
    assert main(["report", str(demo)]) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_report_on_a_bare_participants_tree(demo, tmp_path):
    """The report of a participants tree (choices and arrangements, no results folder), its grid-prior section
    with the numbers computed from the tree's arrangements."""
    tree = shutil.copytree(demo / "participants", tmp_path / "participants")
    out = tmp_path / "real.html"
    assert main(["report", str(tree), "--out", str(out), "--dpi", "30"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Choice matrices per garden" in text and text.count("data:image/png") >= 3
    assert not (tree / "tables").exists()  # nothing written into the data folder
    section = html.unescape(text[text.index("<section id='grid_prior'>"):])
    section = section[:section.index("</section>")]
    change = prior_change(grid_priors(tree))
    test = change_test(change).iloc[0]
    assert len(change) == test.n == 4  # the demo's four people arranged before and after
    assert f"the median grid prior was {change.grid_prior_pre.median():.3f} before and " \
           f"{change.grid_prior_post.median():.3f} after training" in section
    assert f"{test.n_increased:.0f} of 4 increased" in section
    assert f"Wilcoxon signed-rank test of the change: W = {test.wilcoxon_statistic:.4g}, " \
           f"p = {test.wilcoxon_p:.2g}" in section
    assert section.count("data:image/png;base64,") == 1 and "<h3>grid prior</h3>" in section
    assert all(f"<td>{pid}</td>" in section for pid in change.participant_id)  # a row per participant


def test_mds_panels_are_drawn_the_same_way_round():
    from garden.rsa.mds import mds_panels
    from garden.rsa.model_rdms import condition_table, model_rdm
    from garden.rsa.rdms import RDMs

    grid = model_rdm("grid")
    jitter = np.abs(np.random.default_rng(0).normal(0, 0.01, grid.shape))
    panels = mds_panels(RDMs(np.stack([grid, grid + (jitter + jitter.T) * (1 - np.eye(50))]), condition_table()),
                        ["a", "b"], seed=1)
    a, b = (panels[panels.panel == k][["dim1", "dim2"]].to_numpy() for k in ("a", "b"))
    assert np.abs(a - b).max() < 0.1 * np.abs(a).max()


@pytest.mark.parametrize("table", ["bms", "fit_summary", "network_summary"])
def test_report_on_tampered_tables_is_refused_in_one_line(demo, tmp_path, table, capsys):
    """A NaN row, or text in a numeric column, makes `garden report` refuse in one line naming the table and
    its row, never crash (issue 16)."""
    copy = shutil.copytree(demo, tmp_path / "copy",
                           ignore=shutil.ignore_patterns("report.html", "participants", "neural"))
    path = copy / "tables" / f"{table}.tsv"
    lines = path.read_text().splitlines()
    n_columns = len(lines[0].split("\t"))
    path.write_text("\n".join([*lines, "\t".join([""] * n_columns)]) + "\n")  # a NaN row
    assert main(["report", str(copy), "--out", str(tmp_path / "nan.html"), "--dpi", "30"]) == 2
    err = capsys.readouterr().err
    assert f"{table}.tsv {len(lines) + 1}: an empty row" in err and len(err.strip().splitlines()) == 1
    cells = lines[1].split("\t")
    column = max(i for i, cell in enumerate(cells) if _is_number(cell))  # its last numeric column
    cells[column] = "tampered"
    path.write_text("\n".join([lines[0], "\t".join(cells), *lines[2:]]) + "\n")  # text in a number column
    assert main(["report", str(copy), "--out", str(tmp_path / "text.html"), "--dpi", "30"]) == 2
    err = capsys.readouterr().err
    assert f"{table}.tsv 2: column '{lines[0].split(chr(9))[column]}' value 'tampered' is not a number" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "text.html").exists()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() != ""


@pytest.mark.slow
def test_demo_report_fits_a_1280_px_window_and_every_figure_reads_at_9_pt(demo, demo_page):
    """In Chromium at 1 280 px: no horizontal scrolling (wide tables scroll in their box), and every figure the
    report drew (its matplotlib text artists as the report saved it, ``report_spy``) has its smallest text >= 9 pt
    as shown, and no legend covering plotted data."""
    page_width, shown = demo_page[0]["width"], dict(demo_page[0]["shown"])
    assert page_width <= 1280
    drawn = json.loads((demo.parent / "drawn.json").read_text())
    figures = embedded_figures((demo / "report.html").read_text(encoding="utf-8"), drawn)
    smallest = {}
    for caption, figure in figures.items():
        assert not figure["legends_over_data"], caption
        printed_px = figure["width_in"] * 96
        assert shown[caption] == pytest.approx(min(printed_px, CONTENT_PX), abs=2), caption
        smallest[caption] = figure["smallest_pt"] * shown[caption] / printed_px
    drawn_captions = {f.caption for spec in SECTIONS for f in spec.figures}
    assert set(figures) <= drawn_captions and len(figures) == len(drawn) > 25
    assert min(smallest.values()) >= 9 - 1e-6, sorted(smallest.items(), key=lambda kv: kv[1])[:3]
