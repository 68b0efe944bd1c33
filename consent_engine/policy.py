"""Load a policy from YAML text: parse, check, compile. The caller reads the file; this module never does.

A policy is compiled together with an organisation directory (`consent_engine.directory`): the policy's rules
speak of organisation types, the directory says which organisation is of which type. Without a directory the
policy knows no organisation, so every decision about one fails closed.
"""

from __future__ import annotations

from consent_engine.compiled import Policy
from consent_engine.directory import Directory
from consent_engine.policy_check import check_spec
from consent_engine.policy_compile import compile_policy
from consent_engine.policy_parse import parse_spec
from consent_engine.policy_spec import PolicyError, Problem


def check_policy(text: str, source: str = "<string>", directory: Directory | None = None) -> list[Problem]:
    """Every problem in the policy text, by line; an empty list means `parse_policy` will accept it.

    Semantic checks run only on a structurally sound file, so that one typo does not cascade into a page
    of "unknown role" messages.
    """
    spec, problems = parse_spec(text, source)
    if spec is None or problems:
        return problems
    return check_spec(spec, directory)


def parse_policy(text: str, source: str = "<string>", directory: Directory | None = None) -> Policy:
    """Parse, check and compile a policy; raise `PolicyError` (with every problem and its line) if it is unsafe."""
    spec, problems = parse_spec(text, source)
    if spec is not None and not problems:
        problems = check_spec(spec, directory)
    if spec is None or problems:
        raise PolicyError(problems)
    return compile_policy(spec, directory)
