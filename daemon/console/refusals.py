"""The service layer's refusals in Japanese: the one place the console words them.

A page that shows a form puts :func:`form_errors` beside its fields; any other
refusal reaching the failure middleware becomes an error page through
:func:`japanese` and :func:`status_of`.  Conflicts are worded by their ``code``
(a word of the service layer, or the database constraint that refused), with a
general sentence for codes not listed here.
"""

from __future__ import annotations

from pydantic_core import ErrorDetails

from daemon.console.forms import message
from daemon.services.errors import Conflict, Forbidden, Invalid, NotFound, Problem, ServiceError

NOT_FOUND = "お探しのデータは見つかりませんでした。"
FORBIDDEN = "この操作は許可されていません。"
CONFLICT = "現在の登録内容と矛盾するため保存できませんでした。"

# Conflict codes → what a person reads.
CONFLICTS: dict[str, str] = {
    "tenants_name_key": "同じ名前のテナントが既にあります。",
    "numbers_pkey": "この電話番号は既に割り当てられています（このテナントまたは別のテナント）。",
    "caller_numbers_pkey": "この電話番号またはPINは既に別の利用者に登録されています。",
    "callers_tenant_id_pin_key": "この電話番号またはPINは既に別の利用者に登録されています。",
    "counsellors_tenant_id_name_key": "同じ名前のカウンセラーが既に登録されています。",
    "counsellor_groups_tenant_id_code_key": "このグループ番号は既に別のグループで使われています。",
    "ledger_idempotency": "この操作は既に記録されています（二重送信）。",
    "login_taken": "このログインIDは既に使われています。",
    "insufficient_balance": "残高が足りないため処理できません。",
}

# The English rules of the models and repositories, in Japanese (matched as substrings).
RULES: tuple[tuple[str, str], ...] = (
    ("card payers are postpaid", "カード払いの利用者は後払いにしてください"),
    ("a credit limit applies to postpaid", "与信枠は後払いの利用者にだけ設定できます（前払いは空欄に）"),
    ("the same number is listed twice", "同じ電話番号が二度入力されています"),
    ("a prepaid balance cannot be negative", "残高がマイナスのため前払いに変更できません。先に精算してください"),
    ("phone number", "電話番号の形式が正しくありません（例: 09012345678）"),
)


def rule(text: str) -> str:
    """An English rule text in Japanese, or the text itself when no sentence is known."""
    return next((words for english, words in RULES if english in text), text)


def japanese(exc: ServiceError) -> str:
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Forbidden):
        return FORBIDDEN
    if isinstance(exc, Conflict):
        return CONFLICTS.get(exc.code, CONFLICT)
    if isinstance(exc, Invalid):
        return " ".join(dict.fromkeys(form_errors(exc).values()))
    return rule(exc.message)


def status_of(exc: ServiceError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict):
        return 409
    return 422


def _problem_message(problem: Problem) -> str:
    detail: ErrorDetails = {
        "type": problem.type,
        "loc": problem.loc,
        "msg": problem.msg,
        "input": None,
        "ctx": dict(problem.ctx),
    }
    return rule(message(detail))


def form_errors(exc: ServiceError) -> dict[str, str]:
    """Messages by form field (``""``: the form as a whole), for a page that shows its form again."""
    if isinstance(exc, Invalid):
        found: dict[str, str] = {}
        for p in exc.problems:
            found.setdefault(str(p.loc[0]) if p.loc else "", _problem_message(p))
        return found
    return {"": japanese(exc)}
