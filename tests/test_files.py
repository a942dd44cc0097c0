"""Output files: check_output_path refuses folders, unknown suffixes and file parents with one ConfigError;
atomic_write writes through a rename (a failure leaves the previous file, no temporary file is left behind)
and gives the permissions a plain write would."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightning_causal.errors import ConfigError
from lightning_causal.files import atomic_write, check_output_path


@pytest.fixture
def umask() -> Iterator[None]:
    """Restores the process umask whatever a test sets."""
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_line(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------------------ check_output_path
def test_a_good_output_path_comes_back_as_a_path_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "there.png"
    got = check_output_path(str(target), (".png",))
    assert got == target and isinstance(got, Path)
    assert not (tmp_path / "not").exists()


def test_any_suffix_passes_when_none_are_listed(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "notes") == tmp_path / "notes"
    assert check_output_path(tmp_path / "data.weird") == tmp_path / "data.weird"


@pytest.mark.parametrize("name", ["plot.png", "PLOT.PNG", "plot.Pdf", "archive.tar.gz", "a.b.svg"])
def test_listed_suffixes_match_case_blind_and_may_have_several_parts(tmp_path: Path, name: str) -> None:
    assert check_output_path(tmp_path / name, (".png", ".pdf", ".tar.gz", ".SVG")).name == name


def test_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "out.png"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"is a folder; give a file name$") as err:
        check_output_path(folder, (".png",), "--out")
    assert _one_line(err).startswith(f"--out {str(folder)!r}")


@pytest.mark.parametrize("name,shown", [("table.txt", "'.txt'"), ("table", "''"), ("table.png.bak", "'.bak'")])
def test_an_unknown_suffix_is_refused_with_the_allowed_ones(tmp_path: Path, name: str, shown: str) -> None:
    with pytest.raises(ConfigError, match=rf"unknown suffix {shown}; use \.csv, \.parquet$") as err:
        check_output_path(tmp_path / name, (".csv", ".parquet"), "table")
    assert _one_line(err).startswith("table ")


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "results.txt"
    parent.write_text("x")
    with pytest.raises(ConfigError, match=r"is a file, not a folder$") as err:
        check_output_path(parent / "plot.png", (".png",), "figure")
    assert repr(str(parent)) in _one_line(err)


def test_a_path_below_a_file_further_up_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results.txt").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_output_path(tmp_path / "results.txt" / "figs" / "plot.png", (".png",))


# ------------------------------------------------------------------------------------------------- atomic_write
def test_text_is_written_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    text = atomic_write(tmp_path / "a.txt", "Σ P(y | do(x))\n")
    assert text == tmp_path / "a.txt"
    assert text.read_bytes() == "Σ P(y | do(x))\n".encode()
    raw = bytes(range(256))
    assert atomic_write(str(tmp_path / "b.bin"), raw).read_bytes() == raw
    assert atomic_write(tmp_path / "empty", b"").read_bytes() == b""


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "z.json"
    atomic_write(target, "{}")
    assert target.read_text() == "{}"


def test_a_write_replaces_the_previous_file_as_a_whole(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old and much longer content")
    with target.open("rb") as reader:  # a reader that opened the old file keeps reading the old file
        atomic_write(target, "new")
        assert reader.read() == b"old and much longer content"
    assert target.read_text() == "new"


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    for k in range(3):
        atomic_write(tmp_path / "out.txt", f"round {k}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    assert (tmp_path / "out.txt").read_text() == "round 2"


@pytest.mark.parametrize("bad", ["half \ud800 written", 12345, ["not", "bytes"]])
def test_a_failed_write_leaves_the_previous_file(tmp_path: Path, bad: object) -> None:
    target = tmp_path / "table.csv"
    target.write_text("a,b\n1,2\n")
    with pytest.raises((UnicodeEncodeError, TypeError)):
        atomic_write(target, bad)  # type: ignore[arg-type]
    assert target.read_text() == "a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # the temporary file is gone too


def test_a_failed_first_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        atomic_write(tmp_path / "new.txt", "\udcff")
    assert list(tmp_path.iterdir()) == []


def test_writing_to_a_folder_is_one_config_error_and_the_folder_stays(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("k")
    with pytest.raises(ConfigError, match="is a folder") as err:
        atomic_write(folder, "data")
    _one_line(err)
    assert (folder / "keep.txt").read_text() == "k"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_writing_below_a_file_is_one_config_error(tmp_path: Path) -> None:
    (tmp_path / "results.txt").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        atomic_write(tmp_path / "results.txt" / "out.json", "{}")


@pytest.mark.parametrize("mask,expected", [(0o077, 0o600), (0o002, 0o664), (0o027, 0o640), (0o000, 0o666)])
def test_a_new_file_gets_0o666_less_the_umask(tmp_path: Path, umask: None, mask: int, expected: int) -> None:
    os.umask(mask)
    assert _mode(atomic_write(tmp_path / "new.txt", "a")) == expected


@pytest.mark.parametrize("existing", [0o600, 0o640, 0o755, 0o444])
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, umask: None, existing: int) -> None:
    os.umask(0o077)  # would give 0o600 to a new file: the old file's mode must win
    target = tmp_path / "kept.txt"
    target.write_text("old")
    os.chmod(target, existing)
    atomic_write(target, "new")
    assert _mode(target) == existing
    assert target.read_text() == "new"


def test_the_umask_is_left_as_it_was(tmp_path: Path, umask: None) -> None:
    os.umask(0o027)
    atomic_write(tmp_path / "a.txt", "a")
    assert os.umask(0o027) == 0o027
