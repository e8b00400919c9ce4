"""sqlgate's providers for rhosocial-activerecord-testsuite (sync groups): direct and through sqlgate."""
