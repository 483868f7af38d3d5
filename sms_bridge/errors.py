"""The SMS bridge's errors, placed in the platform's one tree (:mod:`voiceplatform.exceptions`).

    InputRejectedError                 (voiceplatform.exceptions)
    ├── SmsTextError                   a text that cannot be sent as SMS
    │   ├── NotGsm7Error               GSM-7 asked for a character outside GSM 03.38 (misuse:
    │   │                              measure first)
    │   ├── LoneSurrogateError         a lone UTF-16 surrogate, which no handset can show
    │   └── MessageTooLongError        more than 255 concatenated parts
    ├── InvalidReferenceError          a concatenation reference outside 0-255
    ├── MalformedUserDataError         a short_message whose user-data header overruns it
    └── MalformedReceiptError          a delivery receipt with no message id or no state
"""

from __future__ import annotations

from voiceplatform.exceptions import InputRejectedError


class SmsTextError(InputRejectedError):
    """A text that cannot be sent as SMS."""

    code = "sms_text"


class NotGsm7Error(SmsTextError):
    code = "not_gsm7"


class LoneSurrogateError(SmsTextError):
    code = "lone_surrogate"


class MessageTooLongError(SmsTextError):
    code = "sms_too_long"


class InvalidReferenceError(InputRejectedError):
    code = "invalid_concatenation_reference"


class MalformedUserDataError(InputRejectedError):
    code = "malformed_user_data"


class MalformedReceiptError(InputRejectedError):
    code = "malformed_receipt"
