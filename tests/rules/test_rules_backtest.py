"""Backtests over a recorded Saturday list exactly the expected suggestions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hub.cli import main
from hub.rules.backtest import BacktestInputError, read_jsonl, run_backtest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("data") / "saturday.jsonl"
COMMUNITY = REPO / "rules" / "community.yaml"

EXPECTED = [
    "2026-11-28T07:00:00Z h-ana community/activity-ride request [ride:gathering-fishing]"
    " Ride to Fishing at the lake?",
    "2026-11-28T08:30:00Z h-ana community/pantry-low suggest [grocery-delivery]"
    " Groceries running low: milk, eggs. Delivery?",
    "2026-11-28T10:00:00Z h-ana community/gas-outage-dinner suggest"
    " [gas-dinner-gas-2026-11-28] No gas for cooking tonight. Dinner together?",
    "2026-11-28T10:00:00Z h-ben community/gas-outage-dinner suggest"
    " [gas-dinner-gas-2026-11-28] No gas for cooking tonight. Dinner together?",
    "2026-11-28T10:30:00Z h-ana community/delivery-clash suggest [clash:booking-17]"
    " Your delivery clashes with another booking. Move it?",
]


def test_backtest_cli_lists_the_expected_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["rules", "backtest", str(COMMUNITY), "--input", str(FIXTURE), "--progress", "always"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == EXPECTED
    assert "100% 102 records" in err
    assert "102 record(s) replayed, 5 action(s)" in err


def test_backtest_json_output_and_traces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "backtest", str(COMMUNITY), "--input", str(FIXTURE), "--json"]) == 0
    actions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    grocery = actions[1]
    assert grocery["data"]["kind"] == "grocery"
    assert grocery["data"]["items"] == [
        {"name": "milk", "qty": 0.2, "unit": "l"},
        {"name": "eggs", "qty": 0, "unit": "pcs"},
    ]
    dinner = actions[2]
    assert dinner["data"] == {
        "kind": "gathering",
        "place": "river-bistro",
        "after": "2026-11-28T17:00:00+01:00",
        "before": "2026-11-28T23:00:00+01:00",
        "notice_id": "gas-2026-11-28",
    }
    assert grocery["message"].startswith("milk 0.2 l, eggs 0 pcs.")
    with FIXTURE.open("rb") as f:
        result = run_backtest([COMMUNITY], read_jsonl(f))
    ben = [t for t in result.traces if t["household"] == "h-ben" and t["rule"] == "pantry-low"]
    assert [t["outcome"] for t in ben] == ["pending", "cancelled"]  # the door was open


def test_backtest_has_no_side_effects(tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    with FIXTURE.open("rb") as f:
        result = run_backtest([COMMUNITY], read_jsonl(f))
    assert len(result.actions) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_bad_input_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"ts": "2026-11-28T07:00:00Z", "household": "h", "metric": "stock",'
        ' "value": 1, "device": "d"}\n{"ts": "yesterday"}\n',
        encoding="utf-8",
    )
    assert main(["rules", "backtest", str(COMMUNITY), "--input", str(bad)]) == 2
    assert "line 2: ts must be ISO 8601 or epoch seconds" in capsys.readouterr().err
    with pytest.raises(BacktestInputError, match="line 1: not JSON"):
        list(read_jsonl(io.BytesIO(b"{nope\n")))


def test_since_without_a_telemetry_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "backtest", str(COMMUNITY), "--since", "7d"]) == 2
    assert "--since needs the telemetry store" in capsys.readouterr().err


def test_raw_mqtt_lines_go_through_a_normalizer(tmp_path: Path) -> None:
    from hub.errors import PayloadRejected
    from hub.events import Reading

    def normalize(topic: str, payload: bytes) -> tuple[str | None, list[Reading]]:
        household = topic.split("/")[1]
        if payload == b"garbage":
            raise PayloadRejected("not JSON", topic=topic)
        qty = json.loads(payload)["milk"]
        return household, [
            Reading(device="fridge", metric="stock", channel="milk", value=qty, unit="l")
        ]

    recorded = tmp_path / "raw.jsonl"
    recorded.write_text(
        "\n".join(
            json.dumps(line)
            for line in (
                {
                    "ts": "2026-11-28T08:00:00Z",
                    "topic": "home/h-ana/fridge/state",
                    "payload": '{"milk": 0.2}',
                },
                {
                    "ts": "2026-11-28T08:10:00Z",
                    "topic": "home/h-ana/fridge/state",
                    "payload": "garbage",
                },
                {
                    "ts": "2026-11-28T08:20:00Z",
                    "topic": "home/h-ana/fridge/state",
                    "payload_b64": "eyJtaWxrIjogMC4xfQ==",
                },
            )
        ),
        encoding="utf-8",
    )
    with recorded.open("rb") as f:
        result = run_backtest([COMMUNITY], read_jsonl(f), normalize=normalize)
    assert (result.records, result.rejected) == (3, 1)
    [action] = result.actions
    assert action.title == "Groceries running low: milk. Delivery?"
    assert action.data["items"] == [{"name": "milk", "qty": 0.1, "unit": "l"}]
    assert action.created_at.isoformat() == "2026-11-28T08:30:00+00:00"
