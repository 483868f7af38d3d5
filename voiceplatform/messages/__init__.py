"""SMS and WhatsApp through the API (docs/messages-api.md): one message (``POST /messages``,
``channel`` sms or whatsapp), the brief's personalised SMS API (a CSV and an ``@column``
template, answered per recipient), the accounts' registered sender IDs and the country check
(brief 4.2.9), charging per part at the destination country's rate (WhatsApp: held, settled on
delivery), and the delivery reports that move a message's status and reach the customer's
endpoints as ``message.status`` webhooks.

- ``statuses``: a message's statuses and the forward-only rule;
- ``reports``: a delivery report applied to a message (what ``settle_message_outcome`` calls for
  a session of no campaign);
- ``sender_ids``: what a sender ID may be (alphanumeric or numeric);
- ``senders``: which senders an account may use, and the countries each is registered in;
- ``countries``: the countries that require sender registration, and the warning;
- ``one_message_flow``: the account's one-node flow every API message is a session of;
- ``submission``: checking, pricing, charging and handing a request's messages to the channel;
- ``whatsapp_content``: a WhatsApp message's text and template, checked (against the account's
  synced templates: ``whatsapp_catalog``);
- ``whatsapp_charges``: a WhatsApp message's hold on submission, settled by its final status;
- ``personalised``: a CSV and a template as one message per row, or that row's error.
"""
