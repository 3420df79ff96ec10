{{ stg_sendgrid_suppression('unsubscribes', 'unsubscribe') }}
