"""A damaged run is one damaged run: in a store of real runs, each kind of damage leaves the other runs
listed and reported, is named on one line, and is rerun by the next sweep; a run directory that is a link
is refused and what it points to is left alone."""
import json
import socket

import pytest

from rnnbench import cli, store
from rnnbench.config import normalize

TINY = {"seq_len": 4, "hidden": 3, "batch": 4, "test_size": 8, "steps": 6, "eval_every": 3,
        "gradnorm_every": 3, "backend": "reference", "checkpoint_every": 0}
GRID = {"cell": ["rnn", "gru", "lstm"], "seed": [0, 1, 2]}
CONFIGS = [normalize({**TINY, "cell": c, "seed": s}) for c in GRID["cell"] for s in GRID["seed"]]


def _truncate(path):
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


def _tamper(path):
    path.write_text(json.dumps({**json.loads(path.read_text()), "lr": 0.5}))


DAMAGE = {
    "truncated metrics": lambda d: _truncate(d / "metrics.parquet"),
    "empty gradnorms": lambda d: (d / "gradnorms.parquet").write_bytes(b""),
    "garbage status": lambda d: (d / "status.json").write_text("{not json"),
    "list status": lambda d: (d / "status.json").write_text("[1, 2]"),
    "deleted config": lambda d: (d / "config.json").unlink(),
    "tampered config": lambda d: _tamper(d / "config.json"),
}


def _sweep_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, **GRID}.items()))
    return path


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_damaged_runs_are_named_listed_apart_and_rerun(tmp_path, capsys, monkeypatch):
    root = tmp_path / "runs"
    for config in CONFIGS[:7]:
        store.execute(config, root)
    damaged = {}
    for (kind, damage), config in zip(DAMAGE.items(), CONFIGS):
        run_dir = root / store.run_id(config)
        damage(run_dir)
        damaged[run_dir.name] = kind
        # the one judge of "finished", which every command asks, says no for every kind of damage
        assert not store.is_finished(run_dir), kind
    healthy = store.run_id(CONFIGS[6])
    # two runs nobody finished, whose locks are garbage: a folder, and an owner with a bad pid
    (root / store.run_id(CONFIGS[7]) / "lock").mkdir(parents=True)
    (root / store.run_id(CONFIGS[8])).mkdir()
    (root / store.run_id(CONFIGS[8]) / "lock").write_text(
        json.dumps({"host": socket.gethostname(), "pid": "abc", "token": "x"}))

    code, out, err = _cli(capsys, "runs", "--store", str(root), "--csv", "--columns", "run_id,status")
    assert code == 0 and out.splitlines()[1:] == [f"{healthy},done"]
    assert sorted(line.split()[3].rstrip(":") for line in err) == sorted(damaged)
    assert all(line.startswith("rnnbench: warning: run ") for line in err)

    code, out, err = _cli(capsys, "report", "--store", str(root), "--out", str(tmp_path / "report"))
    assert code == 0 and len(err) == len(damaged)
    assert "1 done" in (tmp_path / "report" / "report.md").read_text()

    monkeypatch.setenv("RNNBENCH_STALE_S", "1")       # the garbage locks are taken over after 1 s
    code, out, err = _cli(capsys, "sweep", str(_sweep_file(tmp_path)), "--store", str(root), "--workers", "1")
    assert code == 0 and "8 done, 0 diverged, 0 failed, 1 already finished" in err[-1], err

    code, out, err = _cli(capsys, "runs", "--store", str(root), "--csv", "--columns", "run_id,status")
    assert code == 0 and err == []
    assert sorted(out.splitlines()[1:]) == sorted(f"{store.run_id(c)},done" for c in CONFIGS)


def test_a_store_with_nothing_readable_exits_2(tmp_path, capsys):
    root = tmp_path / "runs"
    run_dir = root / store.execute(CONFIGS[0], root)
    (run_dir / "status.json").write_text("[]")
    for argv in (["runs", "--store", str(root)],
                 ["report", "--store", str(root), "--out", str(tmp_path / "r")]):
        code, out, err = _cli(capsys, *argv)
        assert code == 2 and err[0] == \
            f"rnnbench: warning: run {run_dir.name}: status.json holds no status ([])"
        assert len(err) == 2 and "none of its 1 runs is readable" in err[1]
    assert not (tmp_path / "r").exists()


@pytest.fixture
def linked_store(tmp_path):
    """A store holding one finished run and, for CONFIGS[1], a link to a folder of someone else's files."""
    root = tmp_path / "runs"
    store.execute(CONFIGS[0], root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    (elsewhere / "status.json").write_text(json.dumps({"status": "failed", "error": "x"}))
    link = root / store.run_id(CONFIGS[1])
    link.symlink_to(elsewhere, target_is_directory=True)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    return root, link, elsewhere, before


def test_a_linked_run_directory_is_refused_and_its_target_untouched(linked_store, tmp_path, capsys):
    root, link, elsewhere, before = linked_store
    sweep = tmp_path / "two.toml"
    sweep.write_text("".join(f"{k} = {json.dumps(v)}\n"
                             for k, v in {**TINY, "cell": "rnn", "seed": [0, 1]}.items()))
    code, out, err = _cli(capsys, "sweep", str(sweep), "--store", str(root), "--workers", "1")
    assert code == 1 and "is a symbolic link" in err[0] and link.name in err[0]
    assert "1 refused" in err[-2] and "rnnbench runs --store" in err[-1]
    code, out, err = _cli(capsys, "train", "--out", str(root), "--no-progress",
                          *[f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()], "--cell", "rnn",
                          "--seed", "1")
    assert code == 2 and len(err) == 1 and "is a symbolic link" in err[0]
    code, out, err = _cli(capsys, "runs", "--store", str(root))
    assert code == 0 and err == [f"rnnbench: warning: run {link.name}: a symbolic link (refused: runs must "
                                 "be directories inside the store)"]
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
