-- The after-commit markers were replaced by Database.after_commit (no worker thread).
DROP TABLE offer_tx_marks;
