"""The services share no code, so their copied pieces must stay twins: an undeclared difference fails."""

from collections import Counter

import pytest
from twin_diff import REPO, twin_diff
from twins import TWINS

HOW_TO_FIX = (
    "Make the twins read the same (a fix in one service belongs in the other), or, when a line must differ, add it "
    "as shown above to this pair's auth_only/todo_only list in tests/parity/twins.py."
)


def pair_id(twin: dict) -> str:
    return twin["auth"] if twin["auth"] == twin["todo"] else f"{twin['auth']}~{twin['todo']}"


@pytest.mark.parametrize("twin", TWINS, ids=pair_id)
def test_twin_files_differ_only_in_their_declared_lines(twin):
    auth_path, todo_path = f"auth_project/{twin['auth']}", f"todo_project/{twin['todo']}"
    only_auth, only_todo, diff = twin_diff(auth_path, todo_path, twin.get("blocks"))

    undeclared = {
        "auth_only": list((Counter(only_auth) - Counter(twin["auth_only"])).elements()),
        "todo_only": list((Counter(only_todo) - Counter(twin["todo_only"])).elements()),
    }
    stale = {
        "auth_only": list((Counter(twin["auth_only"]) - Counter(only_auth)).elements()),
        "todo_only": list((Counter(twin["todo_only"]) - Counter(only_todo)).elements()),
    }
    if any(undeclared.values()):
        listed = "\n".join(f"  {key}: {line!r}" for key, lines in undeclared.items() for line in lines)
        pytest.fail(
            f"{auth_path} and {todo_path} differ beyond their declared lines:\n{diff}\n\n{listed}\n{HOW_TO_FIX}",
            pytrace=False,
        )
    if any(stale.values()):
        listed = "\n".join(f"  {key}: {line!r}" for key, lines in stale.items() for line in lines)
        pytest.fail(
            f"{auth_path} and {todo_path} no longer differ in these declared lines; remove them:\n{listed}",
            pytrace=False,
        )


@pytest.mark.parametrize("twin", TWINS, ids=pair_id)
def test_both_twins_exist(twin):
    assert (REPO / "auth_project" / twin["auth"]).is_file()
    assert (REPO / "todo_project" / twin["todo"]).is_file()


def test_the_check_fails_on_an_undeclared_difference(tmp_path, monkeypatch):
    import twin_diff as module

    (tmp_path / "auth_project").mkdir()
    (tmp_path / "todo_project").mkdir()
    (tmp_path / "auth_project" / "a.py").write_text("from accounts import models\nTIMEOUT = 5\n")
    (tmp_path / "todo_project" / "a.py").write_text("from todos import models\nTIMEOUT = 6\n")
    monkeypatch.setattr(module, "REPO", tmp_path)

    only_auth, only_todo, diff = module.twin_diff("auth_project/a.py", "todo_project/a.py")

    assert (only_auth, only_todo) == (["TIMEOUT = 5"], ["TIMEOUT = 6"]), "the app names are not a difference"
    assert "-TIMEOUT = 5" in diff
    assert "+TIMEOUT = 6" in diff
