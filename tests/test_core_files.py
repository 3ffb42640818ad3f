"""core.files: ``write_tsv`` and ``output_folder`` never leave a complete-looking output after a crash and
never overwrite one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from garden.core.errors import UserError
from garden.core.files import output_folder, write_tsv

TABLE = pd.DataFrame({"participant_id": ["P1", "P2"], "beta": [0.123456789, np.nan], "n": [3, 4]})


def test_write_tsv_writes_the_table_once_in_one_format(tmp_path):
    path = write_tsv(tmp_path / "sub" / "betas.tsv", TABLE, float_format="%.4g", na_rep="n/a")
    assert path.read_bytes() == b"participant_id\tbeta\tn\nP1\t0.1235\t3\nP2\tn/a\t4\n"
    pd.testing.assert_frame_equal(pd.read_csv(path, sep="\t"), TABLE.assign(beta=[0.1235, np.nan]))
    with pytest.raises(FileExistsError, match="betas.tsv: already exists"):
        write_tsv(path, TABLE)
    write_tsv(path, TABLE.iloc[:1], overwrite=True)
    assert path.read_text().count("\n") == 2
    assert [p.name for p in path.parent.iterdir()] == ["betas.tsv"]  # no .partial left behind


def test_write_tsv_is_not_blocked_by_the_partial_file_of_a_crashed_write(tmp_path):
    (tmp_path / "betas.tsv.partial").write_text("participant_id\tbe")  # what a crash mid-write leaves
    write_tsv(tmp_path / "betas.tsv", TABLE)
    assert pd.read_csv(tmp_path / "betas.tsv", sep="\t").shape == (2, 3)
    assert not (tmp_path / "betas.tsv.partial").exists()


def test_output_folder_appears_only_complete_and_refuses_an_existing_one(tmp_path):
    out = tmp_path / "stats"
    with pytest.raises(RuntimeError, match="half way"):
        with output_folder(out) as partial:
            write_tsv(partial / "tables" / "a.tsv", TABLE)
            raise RuntimeError("half way")
    assert not out.exists() and (tmp_path / "stats.partial" / "tables" / "a.tsv").is_file()
    with output_folder(out) as partial:  # a new run starts over: the leftover is removed
        assert not any(partial.iterdir())
        write_tsv(partial / "b.tsv", TABLE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats"] and (out / "b.tsv").is_file()
    with pytest.raises(UserError, match="stats: already exists; refusing to overwrite"):
        with output_folder(out):
            pytest.fail("the block must not run when the output exists")


def test_output_folder_resumes_the_partial_folder_when_asked(tmp_path):
    (tmp_path / "glm.partial").mkdir()
    (tmp_path / "glm.partial" / "done.json").write_text("{}")
    with output_folder(tmp_path / "glm", resume=True) as partial:
        assert (partial / "done.json").is_file()
    assert (tmp_path / "glm" / "done.json").is_file()


def test_a_killed_process_leaves_no_complete_looking_output_folder(tmp_path):
    """A process killed (SIGKILL) inside the block: only ``<out>.partial`` exists, never ``<out>``."""
    script = textwrap.dedent(f"""
        import sys, time
        import pandas as pd
        from garden.core.files import output_folder, write_tsv
        with output_folder({str(tmp_path / "rdms")!r}) as partial:
            write_tsv(partial / "a.tsv", pd.DataFrame({{"x": [1]}}))
            print("written", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode != 0
    assert not (tmp_path / "rdms").exists() and (tmp_path / "rdms.partial" / "a.tsv").is_file()


def test_an_output_the_system_refuses_is_one_line_naming_it(tmp_path):
    """A file where the output's folder should be (made while the command worked): one UserError line naming
    the output and the reason, not a raw [Errno 17]/[Errno 20], and nothing left behind."""
    (tmp_path / "tables").write_text("someone's file\n")
    with pytest.raises(UserError, match=r"tables/sub/a.tsv: could not be written \(Not a directory at .*tables/sub\); "
                                        r"make its folder writable"):
        write_tsv(tmp_path / "tables" / "sub" / "a.tsv", TABLE)
    with pytest.raises(UserError, match=r"tables/a.tsv: could not be written \(File exists at .*tables\)"):
        write_tsv(tmp_path / "tables" / "a.tsv", TABLE)
    with pytest.raises(UserError, match=r"tables/stats: could not be written"):
        with output_folder(tmp_path / "tables" / "stats"):
            pytest.fail("the block must not run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line_naming_the_output(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o555)
    try:
        with pytest.raises(UserError, match=r"out/a.tsv: could not be written \(Permission denied\)"):
            write_tsv(tmp_path / "out" / "a.tsv", TABLE)
    finally:
        (tmp_path / "out").chmod(0o755)
    assert list((tmp_path / "out").iterdir()) == []
