package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPrintError_OneLineByDefaultAndTheChainWithVerbose(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "kustomize.tether.dev", Kind: "Kustomization"}, "apps",
		field.ErrorList{field.Invalid(field.NewPath("spec", "interval"), "5x", "must be a duration")})
	err := fmt.Errorf("creating kustomization %q: %w", "apps", invalid)

	var out bytes.Buffer
	PrintError(&out, err, false)
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, `error: creating kustomization "apps": `) {
		t.Errorf("default output is not one error line:\n%s", got)
	}

	out.Reset()
	PrintError(&out, err, true)
	got := out.String()
	for _, want := range []string{
		"caused by:",
		`creating kustomization "apps" (*fmt.wrapError)`,
		"(*errors.StatusError)",
		"API status: 422 Invalid, kustomize.tether.dev Kustomization \"apps\"",
		"spec.interval: Invalid value: \"5x\": must be a duration (FieldValueInvalid)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, got)
		}
	}
}

func TestPrintError_VerboseShowsWhatASummaryLeftOut(t *testing.T) {
	dial := &url.Error{Op: "Get", URL: "https://127.0.0.1:1/version", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}
	err := Unreachable("https://127.0.0.1:1", dial)

	var out bytes.Buffer
	PrintError(&out, err, false)
	if got := out.String(); strings.Contains(got, "dial tcp") || !strings.Contains(got, "connection refused: check that the cluster is running") {
		t.Errorf("summary line:\n%s", got)
	}
	out.Reset()
	PrintError(&out, err, true)
	if got := out.String(); !strings.Contains(got, `Get "https://127.0.0.1:1/version"`) || !strings.Contains(got, "(*net.OpError)") {
		t.Errorf("verbose output lacks the dial error:\n%s", got)
	}
}

func TestPrintError_JoinedErrorsAndSilentExits(t *testing.T) {
	var out bytes.Buffer
	PrintError(&out, errors.Join(errors.New("a failed"), errors.New("b failed")), true)
	if got := out.String(); !strings.Contains(got, "    a failed (*errors.errorString)") || !strings.Contains(got, "    b failed") {
		t.Errorf("joined causes not listed:\n%s", got)
	}
	out.Reset()
	PrintError(&out, Summarize(nil, "nothing behind this"), true)
	if got := out.String(); got != "error: nothing behind this\n" {
		t.Errorf("an error without causes printed %q", got)
	}
	out.Reset()
	PrintError(&out, &ExitError{Code: 1, Silent: true}, true)
	if out.Len() != 0 {
		t.Errorf("a silent exit printed %q", out.String())
	}
}
