"""The minimal Django project of bench/frameworks.sh (issue 9): one view that
reads a secret per request. FWB_VARIANT picks how: secretkit, boto3 (+ a TTL
dict) or floor (no read). Settings as in examples/django, minus the database."""
