package certrotate

import (
	"context"
	"fmt"
)

// The step catalogue (DESIGN §4). These names are stable: events, reports, golden
// files and CLI output use them, so callers may match on them.
const (
	StepCreateCertificate      = "salesforce/create-certificate"
	StepAddCertificate         = "aws/add-certificate"
	StepSwitchIdentityProvider = "salesforce/switch-identity-provider"
	StepSwitchConnectedApp     = "salesforce/switch-connected-app"
	StepRemoveOldCertificate   = "aws/remove-old-certificate"
	StepReplaceCertificate     = "aws/replace-certificate"
	StepTrustSigningCert       = "aws/trust-signing-certificate"
)

// Action is what a step does to its target, named as in the report's JSON.
type Action string

// The actions, with their plan markers: + create, ~ update, - delete.
const (
	ActionNone   Action = "none"
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// Symbol returns the marker [Plan.Render] prints for a: "+", "~", "-", or " " for
// [ActionNone].
func (a Action) Symbol() string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionDelete:
		return "-"
	}
	return " "
}

// Change is the answer of a step's Check: the action still needed and why. A Change
// whose Action is [ActionNone] (or empty) means the step is done; Reason then says
// why, for the report.
type Change struct {
	Action Action
	Reason string
}

// Done reports whether c says that nothing is left to do.
func (c Change) Done() bool { return c.Action == "" || c.Action == ActionNone }

// Step is one idempotent unit of a rotation, a plain value in the style of kubeadm's
// phases: a stable Name from the catalogue, the Target it changes, a read-only Check,
// the Apply that changes it, a read-only Verify of the result, and an optional Undo.
//
// [Plan.Apply] calls Check right before Apply, so a step whose target is already in
// the wanted state is skipped and a re-run after success writes nothing.
type Step struct {
	// Name is the step's catalogue name, such as [StepAddCertificate].
	Name string
	// Target names what the step changes: an org ID, a contact center's name or a
	// provider ARN.
	Target string
	// Planned is the change Build decided from the state it read; Render prints it.
	Planned Change
	// Check reads the live state and returns what is left to do. It must not write.
	Check func(ctx context.Context) (Change, error)
	// Apply makes the change. It must be safe to call again after a crash.
	Apply func(ctx context.Context) error
	// Verify proves the change took effect. Nil means Apply is trusted.
	Verify func(ctx context.Context) error
	// Undo reverts Apply during a rollback. Nil means the step cannot be undone
	// (or needs no undo: certificates are never deleted).
	Undo func(ctx context.Context) error

	// lane groups the steps that run one after another (one org's rotation);
	// lanes run concurrently.
	lane string
	// wait, when set, runs before the step takes its locks and calls Check: a
	// grace period that must not hold a provider's lock while it passes.
	wait func(ctx context.Context) error
	// locks names the shared resources (providers) the step writes; the engine
	// serializes steps across lanes that hold the same lock.
	locks []string
}

// Stage names the phase of a step that failed.
type Stage string

// The stages of a step, in the order [Plan.Apply] runs them.
const (
	StageCheck  Stage = "check"
	StageApply  Stage = "apply"
	StageVerify Stage = "verify"
	StageUndo   Stage = "undo"
)

// StepError is the error of a failed step: which step, on which target, in which
// stage, and why. Err is never nil and is unwrapped by errors.Is and errors.As.
type StepError struct {
	Step   string
	Target string
	Stage  Stage
	Err    error
}

// Error returns the failure in one line, naming the step, target and stage.
func (e *StepError) Error() string {
	return fmt.Sprintf("certrotate: %s %s: %s: %v", e.Step, e.Target, e.Stage, e.Err)
}

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }
