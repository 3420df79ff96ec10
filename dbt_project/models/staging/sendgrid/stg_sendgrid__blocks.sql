{{ stg_sendgrid_suppression('blocks', 'block') }}
