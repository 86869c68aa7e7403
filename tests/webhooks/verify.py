"""Verifies webhook messages with the Standard Webhooks reference library (PyPI
`standardwebhooks`), an implementation independent of ours.

stdin: a JSON list of {"secret", "body", "headers"}; stdout: a JSON list with, for each,
"valid" or "invalid: <why>".
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

results = []
for message in json.load(sys.stdin):
    try:
        Webhook(message["secret"]).verify(message["body"], message["headers"])
        results.append("valid")
    except WebhookVerificationError as e:
        results.append(f"invalid: {e}")
json.dump(results, sys.stdout)
