"""The SMS bridge: turns engine outputs into SMS and replies into engine inputs. Nothing in
voiceplatform imports it (``.importlinter``).

Its pure core, used by the ESME client (docs/sms-encoding.md):

- :mod:`~sms_bridge.submit_encoding`: a text as ``submit_sm`` user data (GSM-7 unpacked or
  UCS-2, concatenated parts with ``05 00 03 ref n i``), counted by
  :mod:`voiceplatform.text.sms_segments`;
- :mod:`~sms_bridge.gsm7`, :mod:`~sms_bridge.data_coding`, :mod:`~sms_bridge.udh`: the alphabet,
  ``data_coding`` values and user-data headers;
- :mod:`~sms_bridge.mo_messages`, :mod:`~sms_bridge.reassembly`: messages from handsets, long
  ones put back together with a timeout;
- :mod:`~sms_bridge.receipts`, :mod:`~sms_bridge.delivery_status`: delivery receipts and the
  forward-only status rules, parts rolled up into one status.
"""

from sms_bridge.data_coding import DATA_CODING_DEFAULT, DATA_CODING_LATIN1, DATA_CODING_UCS2, decode_user_data
from sms_bridge.delivery_status import DeliveryStatus, advance, roll_up
from sms_bridge.errors import (
    InvalidReferenceError,
    LoneSurrogateError,
    MalformedReceiptError,
    MalformedUserDataError,
    MessageTooLongError,
    NotGsm7Error,
    SmsTextError,
)
from sms_bridge.gsm7 import decode_gsm7, encode_gsm7
from sms_bridge.mo_messages import MoMessage, MoPart, read_mo
from sms_bridge.reassembly import Reassembler
from sms_bridge.receipts import DeliveryReceipt, is_receipt, parse_receipt
from sms_bridge.submit_encoding import EncodedMessage, SubmitPart, encode_message
from sms_bridge.udh import UDHI, Concatenation

__all__ = [
    "DATA_CODING_DEFAULT", "DATA_CODING_LATIN1", "DATA_CODING_UCS2", "UDHI",
    "Concatenation", "DeliveryReceipt", "DeliveryStatus", "EncodedMessage", "MoMessage", "MoPart", "Reassembler",
    "SubmitPart",
    "InvalidReferenceError", "LoneSurrogateError", "MalformedReceiptError", "MalformedUserDataError",
    "MessageTooLongError", "NotGsm7Error", "SmsTextError",
    "advance", "decode_gsm7", "decode_user_data", "encode_gsm7", "encode_message", "is_receipt", "parse_receipt",
    "read_mo", "roll_up",
]
