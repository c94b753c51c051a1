"""The service layer's refusals in Japanese: the one place the console words them.

A page that shows a form puts :func:`form_errors` beside its fields; any other
refusal reaching the failure middleware becomes an error page through
:func:`japanese` and :func:`status_of`.  Conflicts are worded by their ``code``
(a word of the service layer, or the database constraint that refused), with a
general sentence for codes not listed here.
"""

from __future__ import annotations

import re

from pydantic_core import ErrorDetails

from daemon.console.forms import message
from daemon.logs import get_logger
from daemon.services.errors import RULE, Conflict, Forbidden, Invalid, NotFound, Problem, ServiceError
from daemon.services.statistics import MAX_DAYS

_log = get_logger(__name__)

NOT_FOUND = "お探しのデータは見つかりませんでした。"
SAVE_FAILED = "保存できませんでした"
FORBIDDEN = "この操作は許可されていません。"
CONFLICT = "現在の登録内容と矛盾するため保存できませんでした。"

# Conflict codes (and Invalid problem types of our own) → (the form field it belongs to, what a person reads).
CONFLICTS: dict[str, tuple[str, str]] = {
    "tenant_name_taken": ("name", "同じ名前のテナントが既にあります"),
    "number_taken": ("number", "この番号はすでに割り当てられています"),
    "caller_number_or_pin_taken": ("", "この電話番号またはPINは既に別の利用者に登録されています。"),
    "caller_has_history": ("", "入出金の履歴がある利用者は削除できません。"),
    "counsellor_name_taken": ("name", "同じ名前の相談員がすでにいます"),
    "counsellor_in_call": (
        "",
        "通話中（または呼出中）の相談員は削除できません。通話が終わってからもう一度お試しください。",
    ),
    "group_code_taken": ("code", "このコードはほかのグループで使われています"),
    "login_taken": ("login", "このログインIDはすでに使われています"),
    "pool_number_taken": ("number", "この番号はすでに番号在庫にあります"),
    "number_assigned": ("", "この番号はテナントに割り当て中です。先にテナントの画面で割り当てを外してください。"),
    "insufficient_funds": ("", "残高（後払いの場合は与信枠）が足りないため記帳できません。"),
    "balance_too_large": ("", "残高の上限を超えるため記帳できません。"),
    "refund_exceeds_charge": ("", "返金額がこの課金の残り（課金額から返金済みを引いた額）を超えています。"),
    "charge_not_found": ("", "指定された課金がこの利用者に見つかりません。"),
    "idempotency_conflict": ("", "このフォームは既に別の内容で送信されています。フォームを開き直してください。"),
    "ledger_idempotency": ("", "この操作は既に記録されています（二重送信）。"),
}

# The English rules of the models and repositories, in Japanese (matched as substrings).
RULES: tuple[tuple[str, str], ...] = (
    ("card payers are postpaid", "カード払いの利用者は後払いにしてください"),
    ("a credit limit applies to postpaid", "与信枠は後払いの利用者にだけ設定できます（前払いは空欄に）"),
    ("the same number is listed twice", "同じ電話番号が二度入力されています"),
    ("a prepaid balance cannot be negative", "残高がマイナスのため前払いに変更できません。先に精算してください"),
    ("phone number", "電話番号の形式が正しくありません（例: 09012345678）"),
    ("only a month that is over can be closed", "終わっていない月の請求書は確定できません（翌月1日から確定できます）"),
    ("is closed already", "この月の請求書はすでに確定しています"),
    (
        "the issuer is not configured",
        "請求書の発行者（CALLD_INVOICE_ISSUER_NAME・CALLD_INVOICE_REGISTRATION_NUMBER）が未設定です",
    ),
    ("have no charge yet", "料金が確定していない転送通話があります。通話の料金が確定してから確定してください"),
    ("had no contract in", "この月は契約がありません"),
    ("minimum charges are never negative", "料金・無料秒数・最低料金にマイナスは指定できません"),
    ("yen/min and a minimum charge at most", "料金または最低料金が上限を超えています"),
    ("a registration number is T followed by 13 digits", "登録番号は T と13桁の数字です（例: T7000012050002）"),
    ("has a wrong check digit", "登録番号のチェックデジット（13桁の先頭）が正しくありません"),
    ("the taxable sum is negative", "値引き・返金が当月の請求額を超えるため、請求書を作れません"),
    ("the first day is after the last day", "開始日が終了日より後になっています"),
    ("a period has at most", f"期間は{MAX_DAYS}日以内で指定してください"),
    ("is not a month", "月は「YYYY-MM」の形で入力してください（例: 2026-11、2000-01〜2999-12）"),
    ("a pay rate is one of", "報酬の種類が正しくありません"),
    ("pay rate is 0 to", "報酬の額が範囲外です"),
    ("a time range is 'HH:MM-HH:MM'", "時間帯は「09:00-18:00」の形で入力してください（日本時間）"),
    ("the end must come after the start", "時間帯の終わりは始まりより後、24:00までにしてください"),
    ("a forwarding unit is 1, 30 or 60 s", "転送料金の単位は1秒・30秒・60秒、単価は0〜100,000円です"),
    ("name the charge to refund by call_uuid or by charge_id", "返金する課金を1つ指定してください"),
    ("an adjustment of 0 yen changes nothing", "0円の調整は記帳できません。金額を入力してください"),
    ("give the reason, as it will be printed on the invoice", "理由を入力してください（請求書に印字されます）"),
    ("at most 200 fit on the invoice", "理由は200文字以内で入力してください"),
    ("the reason is one line of text", "理由は改行・タブ・制御文字を含まない1行で入力してください"),
    ("control characters (NUL and the like) are not allowed", "制御文字は使えません"),
    ("a counsellor is listed twice", "同じ相談員が二度選ばれています"),
    ("dates between the years 2000 and 2100 only", "日付は2000年から2100年の間で入力してください"),
)
#: What a person reads for an English rule text no sentence above words (logged, to be added).
UNKNOWN_RULE = "入力内容が受け付けられませんでした。内容をご確認ください"
#: How many unknown texts are remembered, so each is logged once (texts may carry the values typed).
_UNKNOWN_REMEMBERED = 256
_unknown: set[str] = set()
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def rule(text: str) -> str:
    """An English rule text in Japanese; text already in Japanese as it is.

    An English text without a sentence here is never shown as it is (the
    console speaks Japanese only): the reader gets :data:`UNKNOWN_RULE`, and
    the text is logged once so the sentence can be added.
    """
    words = next((words for english, words in RULES if english in text), None)
    if words is not None:
        return words
    if _JAPANESE.search(text):
        return text
    if text not in _unknown and len(_unknown) < _UNKNOWN_REMEMBERED:
        _unknown.add(text)
        _log.warning("refusal_without_japanese", text=text)
    return UNKNOWN_RULE


def japanese(exc: ServiceError) -> str:
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Forbidden):
        return FORBIDDEN
    if isinstance(exc, Conflict):
        return CONFLICTS.get(exc.code, ("", CONFLICT))[1]
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
    if problem.type in CONFLICTS:
        return CONFLICTS[problem.type][1]
    if problem.type == RULE:
        return f"{SAVE_FAILED}: {rule(problem.msg)}"
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
    if isinstance(exc, Conflict) and exc.code in CONFLICTS:
        field, words = CONFLICTS[exc.code]
        return {field: words}
    return {"": japanese(exc)}
