package oci

import (
	"encoding/json"
	"fmt"
)

func jsonBlob(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}
