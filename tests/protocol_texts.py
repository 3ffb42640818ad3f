"""Protocol TOML texts of the task tests, built from the parts they share: the head, a fast ``[timing]``
table, a cut training phase and a short two-run scan phase (the shipped protocols are read as they are by
the tests of them)."""

from __future__ import annotations


def protocol(name: str, *tables: str, rule_code: int = 1, curriculum: str = "interleaved") -> str:
    """A protocol's text: ``name``, ``rule_code``, ``curriculum``, then ``tables`` (TOML text) in order."""
    head = f'name = "{name}"\nrule_code = {rule_code}\ncurriculum = "{curriculum}"\n'
    return head + "".join(table.strip("\n") + "\n" for table in tables)


RANDOM_SIDES = '[keys]\nsides = "random"'
"""Accept and reject drawn to the sides per participant."""


def training_phase(max_trials: int, *, block_trials: int = 2) -> str:
    """The 50-trial training phase cut to ``max_trials`` trials, a break every ``block_trials``."""
    return f'[[phases]]\nname = "training"\ntrials = 50\nmax_trials = {max_trials}\nblock_trials = {block_trials}\n'


def timing(*, iti_s: float = 0.1, cue_s: float = 0.2, response_window_s: float = 1.5, feedback_delay_s: float = 0.1,
           feedback_s: float = 0.2, too_slow_s: float = 0.2) -> str:
    """The ``[timing]`` table of a fast test session (all in s)."""
    values = {"iti_s": iti_s, "cue_s": cue_s, "response_window_s": response_window_s,
              "feedback_delay_s": feedback_delay_s, "feedback_s": feedback_s, "too_slow_s": too_slow_s}
    return "[timing]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def scan_phase(max_trials: int, *, iti_s: float = 0.2, iti_max_s: float = 0.4, lead_in_s: float = 0.3,
               button_box: bool = True) -> str:
    """The 100-trial scan phase in 2 runs of ``max_trials`` trials, fixed durations, TR 0.5 s, no feedback;
    answered on a button box (keys 1 and 2) unless ``button_box`` is False."""
    keys = 'keys = { left = "1", right = "2" }\n' if button_box else ""
    return ('[[phases]]\nname = "scan"\ntrials = 100\nruns = 2\n'
            f"max_trials = {max_trials}\nscanner = true\nfeedback = false\n"
            f"timing = {{ iti_s = {iti_s}, iti_max_s = {iti_max_s}, lead_in_s = {lead_in_s}, lead_out_s = 0.2, "
            "fixed_duration = true, tr_s = 0.5 }\n" + keys)
