"""Pack validation: file:line errors, the CLI's exit codes, the published schema."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli import main
from hub.rules.loader import PackInvalid, check_paths, load_pack
from hub.rules.model import pack_json_schema

REPO = Path(__file__).resolve().parents[2]

BROKEN = """\
pack: broken
rules:
  - id: a
    triggers:
      - metric: stock
        channel: milk
        blow: 0.5
      - foo: 1
    actions:
      - kind: suggest
        title: "x {{ items "
  - id: b
    cooldown: 12x
    triggers:
      - schedule: {cron: "99 * * * *"}
      - notice: {on: [arrived]}
    actions:
      - kind: sugest
  - id: b
    triggers: [{metric: stock, below: 1, above: 2}]
    actions: [{kind: notify}]
"""


def test_every_error_has_file_line_and_rule(write_pack: Callable[..., Path]) -> None:
    path = write_pack(BROKEN, "broken")
    with pytest.raises(PackInvalid) as info:
        load_pack(path)
    got = [(e.line, e.rule_id, e.message) for e in info.value.errors]
    assert got == [
        (7, "a", "triggers.0.blow: unknown key 'blow'"),
        (
            8,
            "a",
            "triggers.1: a trigger needs one of metric, device_offline, notice, schedule or offer",
        ),
        (
            11,
            "a",
            "actions.0.title: template error: unexpected end of template, expected"
            " 'end of print statement'. in 'x {{ items '",
        ),
        (
            13,
            "b",
            "cooldown: '12x' is not a duration: write a number of seconds or a string"
            " like 30m, 12h, 1h30m",
        ),
        (
            15,
            "b",
            "triggers.0.schedule: bad cron expression '99 * * * *': Error validating"
            " expression '99': the last value (99) is higher than the maximum value (59)",
        ),
        (
            16,
            "b",
            "triggers.1.notice: Keys should be strings (YAML reads on, off, yes,"
            " no as booleans; quote the key)",
        ),
        (
            18,
            "b",
            "actions.0.kind: Input should be 'suggest', 'notify', 'request', 'offer',"
            " 'reschedule', 'cancel', 'set_flag' or 'withdraw'",
        ),
        (20, "b", "triggers.0: give exactly one of below, above or equals"),
    ]
    assert all(e.file == str(path) for e in info.value.errors)


def test_duplicate_rule_ids_and_keys(write_pack: Callable[..., Path]) -> None:
    path = write_pack(
        """\
        rules:
          - id: a
            triggers: [{metric: stock, below: 1}]
            actions: [{kind: notify}]
            cooldown: 1h
            cooldown: 2h
          - id: a
            triggers: [{metric: stock, below: 1}]
            actions: [{kind: notify}]
        """
    )
    errors = check_paths([path])
    assert [(e.line, e.message) for e in errors] == [
        (1, "duplicate rule id 'a'"),
        (6, "duplicate key 'cooldown'"),
    ]


def test_yaml_syntax_error_has_a_line(write_pack: Callable[..., Path]) -> None:
    path = write_pack("rules:\n  - id: a\n    triggers: [\n")
    [err] = check_paths([path])
    assert err.line == 4
    assert err.message.startswith("YAML: ")


def test_check_cli_prints_file_line_and_exits_1(
    write_pack: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_pack(BROKEN, "broken")
    assert main(["rules", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}:7: rule a: triggers.0.blow: unknown key 'blow'"
    assert len(out) == 8


def test_check_cli_on_the_shipped_packs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(REPO / "rules"), str(REPO / "rules" / "bench")]) == 0
    assert capsys.readouterr().out == ""


def test_check_cli_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().out


def test_folder_check_does_not_descend_into_bench() -> None:
    from hub.rules.loader import pack_files

    names = [p.name for p in pack_files(REPO / "rules")]
    assert names == ["community.yaml"]


def test_schema_json_is_current() -> None:
    published = json.loads((REPO / "rules" / "schema.json").read_text(encoding="utf-8"))
    assert published == pack_json_schema(), "run: hub rules schema --write rules/schema.json"


def test_schema_accepts_the_shipped_packs_and_refuses_typos() -> None:
    import jsonschema_rs
    import yaml

    validator = jsonschema_rs.validator_for(pack_json_schema())
    for pack in (REPO / "rules" / "community.yaml", REPO / "rules" / "bench" / "bench.yaml"):
        validator.validate(yaml.safe_load(pack.read_text(encoding="utf-8")))
    bad = yaml.safe_load(textwrap.dedent(BROKEN))
    assert not validator.is_valid(bad)
