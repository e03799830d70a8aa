"""The results file: a rerun rewrites the table and keeps the hand-written analysis."""

from bench.harness import ANALYSIS_HEADING, analysis_kept


def test_a_rerun_keeps_the_analysis_written_by_hand(tmp_path):
    target = tmp_path / "results.md"
    target.write_text(
        f"# Old table\n\n| a | b |\n\n{ANALYSIS_HEADING}\n\nThe listing waits on SQL.\n"
    )

    kept = analysis_kept(target)

    assert "The listing waits on SQL." in kept
    assert "Old table" not in kept


def test_a_first_run_has_no_analysis(tmp_path):
    assert analysis_kept(tmp_path / "results.md") == ""
