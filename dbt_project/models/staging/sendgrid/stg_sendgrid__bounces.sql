{{ stg_sendgrid_suppression('bounces', 'bounce') }}
