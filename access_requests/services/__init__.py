"""Every write of the access_requests app, by topic."""

from access_requests.services.exports import (
    ExportExpired,
    export_build,
    export_download_record,
    export_expire,
    export_refuse_if_expired,
    export_request,
    export_request_or_reuse,
    export_storage,
    exports_delete_for_grant,
    exports_expire_due,
    exports_sweep,
)
from access_requests.services.grants import grant_revoke
from access_requests.services.refusals import data_read_refused_record
from access_requests.services.requests import (
    MAX_DURATION_DAYS,
    MIN_JUSTIFICATION_CHARS,
    access_request_answer,
    access_request_approve,
    access_request_ask_info,
    access_request_reject,
    access_request_submit,
    access_request_withdraw,
    profile_update,
    review_digest_send,
    terms_current,
)
from access_requests.services.tokens import data_read_record, token_mint, token_revoke

__all__ = [
    "MAX_DURATION_DAYS",
    "MIN_JUSTIFICATION_CHARS",
    "ExportExpired",
    "access_request_answer",
    "access_request_approve",
    "access_request_ask_info",
    "access_request_reject",
    "access_request_submit",
    "access_request_withdraw",
    "data_read_record",
    "data_read_refused_record",
    "export_build",
    "export_download_record",
    "export_expire",
    "export_refuse_if_expired",
    "export_request",
    "export_request_or_reuse",
    "export_storage",
    "exports_delete_for_grant",
    "exports_expire_due",
    "exports_sweep",
    "grant_revoke",
    "profile_update",
    "review_digest_send",
    "terms_current",
    "token_mint",
    "token_revoke",
]
