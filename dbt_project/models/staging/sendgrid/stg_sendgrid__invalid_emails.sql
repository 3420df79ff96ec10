{{ stg_sendgrid_suppression('invalid_emails', 'invalid_email') }}
