{{ stg_sendgrid_suppression('spam_reports', 'spam_report') }}
