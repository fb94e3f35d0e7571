"""``abs-engine scorecard fit|validate|psi|synthetic``: outputs, aggregates only, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine.cli import main


def run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hist") / "history.parquet"
    assert (
        main(
            [
                "scorecard",
                "synthetic",
                "--n",
                "12000",
                "--seed",
                "5",
                "--drift",
                "0.9",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    return path


@pytest.mark.parametrize("step", ["fit", "validate", "psi", "synthetic"])
def test_every_step_has_help_with_an_example(step: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["scorecard", step, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"abs-engine scorecard {step}" in out


def test_scorecard_without_a_step_prints_help_and_exits_2(capsys: Any) -> None:
    rc, out, _ = run(["scorecard"], capsys)
    assert rc == 2 and "fit" in out and "psi" in out


def test_fit_writes_the_card_and_the_report(
    history_file: Path, tmp_path: Path, capsys: Any
) -> None:
    card = tmp_path / "card.toml"
    report = tmp_path / "report"
    rc, out, err = run(
        [
            "scorecard",
            "fit",
            str(history_file),
            "--target",
            "default_flag",
            "--out",
            str(card),
            "--report",
            str(report),
            "--time-column",
            "application_month",
            "--default-rates",
            "A=0.05,B=0.12",
            "--name",
            "pf-fitted",
        ],
        capsys,
    )
    assert rc == 0, err
    loaded = ae.load_scorecard(card)
    assert loaded.name == "pf-fitted" and loaded.scaling is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.toml", "report"]  # no temp files
    assert sorted(p.name for p in report.iterdir()) == ["validation.html", "validation.xlsx"]
    assert "AUC" in out and "pf_monthly_contribution" in out and "wrote" in out
    # aggregates only: no applicant id in what is printed or written
    history = pd.read_parquet(history_file)
    ae.reports.assert_no_identifiers(report, history["applicant_id"], fields=())
    ids = set(history["applicant_id"])
    assert not any(tok in ids for tok in out.split())


def test_validate_and_psi(history_file: Path, tmp_path: Path, capsys: Any) -> None:
    history = pd.read_parquet(history_file)
    card_path = tmp_path / "card.toml"
    ae.scorecard.fit(history[history["application_month"] < "2016-04"], "default_flag").to_toml(
        card_path
    )
    late = tmp_path / "late.parquet"
    history[history["application_month"] >= "2016-10"].to_parquet(late)
    early = tmp_path / "early.parquet"
    history[history["application_month"] < "2016-04"].to_parquet(early)

    rc, out, err = run(
        ["scorecard", "validate", str(card_path), str(late), "--target", "default_flag"], capsys
    )
    assert rc == 0, err
    assert "AUC" in out and "\nA " in out

    table = tmp_path / "psi.csv"
    args = [
        "scorecard",
        "psi",
        str(card_path),
        "--expected",
        str(early),
        "--actual",
        str(late),
        "--out",
        str(table),
    ]
    rc, out, err = run([*args, "--report", str(tmp_path / "psi")], capsys)
    assert rc == 0, err
    psi = pd.read_csv(table).set_index("item")
    assert psi.loc["pf_monthly_contribution", "status"] == "shift"
    assert "WARNING" in out
    assert (tmp_path / "psi" / "stability.html").is_file()
    rc, out, _ = run([*args, "--fail-on", "shift"], capsys)
    assert rc == 1 and "reaches --fail-on" in out
    rc, _, _ = run(
        [
            "scorecard",
            "psi",
            str(card_path),
            "--expected",
            str(early),
            "--actual",
            str(early),
            "--fail-on",
            "monitor",
        ],
        capsys,
    )
    assert rc == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "default_flg"], "did you mean 'default_flag'"),
        (["--target", "default_flag", "--shares", "A=0.5,B0.5"], "GRADE=VALUE"),
        (["--target", "default_flag", "--features", "pf_statu"], "did you mean 'pf_status'"),
    ],
)
def test_fit_errors_exit_2_with_one_line_and_no_output(
    history_file: Path, tmp_path: Path, capsys: Any, argv: list[str], message: str
) -> None:
    out = tmp_path / "card.toml"
    rc, _, err = run(["scorecard", "fit", str(history_file), "--out", str(out), *argv], capsys)
    assert rc == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_paths_exit_2(tmp_path: Path, capsys: Any) -> None:
    rc, _, err = run(
        [
            "scorecard",
            "fit",
            str(tmp_path / "nope.parquet"),
            "--target",
            "y",
            "--out",
            str(tmp_path / "c.toml"),
        ],
        capsys,
    )
    assert rc == 2 and "nope.parquet" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run(
        [
            "scorecard",
            "fit",
            str(tmp_path / "h.csv"),
            "--target",
            "y",
            "--out",
            str(tmp_path / "c.json"),
        ],
        capsys,
    )
    assert rc == 2 and "--out must end in .toml" in err
    rc, _, err = run(
        [
            "scorecard",
            "validate",
            str(tmp_path / "missing.toml"),
            str(tmp_path / "h.csv"),
            "--target",
            "y",
        ],
        capsys,
    )
    assert rc == 2 and "scorecard file not found" in err
