package realtime_test

import (
	"github.com/gatehouse-auth/gatehouse"
)

func secretOf(s string) gatehouse.Secret { return gatehouse.Secret(s) }
