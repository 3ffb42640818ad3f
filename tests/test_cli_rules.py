"""Rules between options (``garden.arguments.Rule``): declared beside each command's arguments, run by
``garden.cli`` after parsing and before the command, each broken one a single line naming the option
and the fix, exit status 2, nothing written."""

from __future__ import annotations

import argparse

import pytest

from garden.arguments import Rule, add_rules, distinct, only_with, requires, together
from garden.cli import build_parser, main
from garden.core.errors import UserError


def _args(**values) -> argparse.Namespace:
    return argparse.Namespace(**values)


def test_each_kind_of_rule_holds_or_names_the_option_and_the_fix(tmp_path):
    both = together("--scales", "--ctx-scales")
    both(_args(scales=(1.0,), ctx_scales=(0.5,)))
    both(_args(scales=None, ctx_scales=None))
    with pytest.raises(UserError, match=r"^--scales and --ctx-scales go together: give all of them or none$"):
        both(_args(scales=None, ctx_scales=(0.5,)))
    needs = requires("--between", "--by", why="the groups")
    needs(_args(between=None, by=None))
    with pytest.raises(UserError, match=r"^--between: needs --by \(the groups\); add --by or leave --between out$"):
        needs(_args(between=tmp_path / "b.tsv", by=""))
    bernoulli = only_with("--profile", "--objective", "bernoulli", "profiles need a likelihood")
    bernoulli(_args(profile=True, objective="bernoulli"))
    with pytest.raises(UserError, match=r"^--profile: profiles need a likelihood: only with --objective bernoulli"):
        bernoulli(_args(profile=True, objective="choice-matrix"))
    apart = distinct("--out", "--lrt")
    apart(_args(out=tmp_path / "a.tsv", lrt=None))
    with pytest.raises(UserError, match=r"^--lrt .*a\.tsv: the same file as --out; give every output its own path$"):
        apart(_args(out=tmp_path / "a.tsv", lrt=tmp_path / "." / "a.tsv"))
    computed = Rule("--hidden", lambda args: "too big; use fewer" if args.hidden > 10 else None)
    computed(_args(hidden=10))
    with pytest.raises(UserError, match=r"^--hidden: too big; use fewer$"):
        computed(_args(hidden=11))
    with pytest.raises(UserError, match=r"^--radius 3: already names its option$"):  # not prefixed twice
        Rule("--radius", lambda args: "--radius 3: already names its option")(_args())


def test_rules_accumulate_in_declaration_order():
    parser = argparse.ArgumentParser()
    first, second = Rule("--a", lambda args: None), Rule("--b", lambda args: None)
    add_rules(parser, first)
    add_rules(parser, second)
    assert parser.parse_args([]).rules == (first, second)


def test_every_command_declares_its_rules_as_rules():
    parser = build_parser(load_all=True)
    found = {}
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            subs = [(name, sub)]
            if sub._subparsers is not None:
                subs = [(f"{name} {step}", p) for a in sub._subparsers._group_actions for step, p in a.choices.items()]
            for full, p in subs:
                rules = p.get_default("rules") or ()
                assert all(isinstance(rule, Rule) for rule in rules), full
                found[full] = [rule.option for rule in rules]
    assert found["bms"] == ["--out", "--between"]
    assert found["fit"] == found["recover"] == ["--profile"]
    assert found["networks fit"] == ["--scales", "--executor"]
    assert found["train"] == ["--executor", "--device", "--hidden", "--shards", "--l2"]
    assert found["neural searchlight"] == ["--executor", "--radius"]
    assert found["run"] == ["--screenshots", "--simulate"]


def test_a_broken_rule_stops_the_command_before_it_writes(tmp_path, capsys):
    fits = tmp_path / "fits.tsv"
    fits.write_text("participant_id\tmodel\tbic\nP1\tlinear\t1\n")
    status = main(["bms", str(fits), "--out", str(tmp_path / "bms.tsv"), "--between", str(tmp_path / "between.tsv")])
    err = capsys.readouterr().err
    assert status == 2 and err == ("garden bms: error: --between: needs --by (the column naming the groups to compare); "
                                   "add --by or leave --between out\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fits.tsv"]
    status = main(["networks", "fit", str(fits), "--scales", "1", "--out", str(tmp_path / "nets")])
    assert status == 2 and "--scales and --ctx-scales go together" in capsys.readouterr().err
    assert not (tmp_path / "nets").exists()
