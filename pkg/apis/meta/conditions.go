package meta

import (
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GetCondition returns the condition of type t, or nil.
func GetCondition(obj ObjectWithConditions, t string) *metav1.Condition {
	return apimeta.FindStatusCondition(obj.GetConditions(), t)
}

// IsTrue reports whether the condition of type t exists with status True.
func IsTrue(obj ObjectWithConditions, t string) bool {
	return apimeta.IsStatusConditionTrue(obj.GetConditions(), t)
}

// IsFalse reports whether the condition of type t exists with status False.
func IsFalse(obj ObjectWithConditions, t string) bool {
	return apimeta.IsStatusConditionFalse(obj.GetConditions(), t)
}

// IsReady reports whether the Ready condition is True. It does not check that
// the condition is up to date with the object's generation; see IsReadyAndCurrent.
func IsReady(obj ObjectWithConditions) bool {
	return IsTrue(obj, ReadyCondition)
}

// IsReadyAndCurrent reports whether the Ready condition is True and was set for
// the object's current generation, as well as status.observedGeneration.
func IsReadyAndCurrent(obj Reconcilable) bool {
	c := GetCondition(obj, ReadyCondition)
	return c != nil && c.Status == metav1.ConditionTrue &&
		c.ObservedGeneration == obj.GetGeneration() &&
		obj.GetObservedGeneration() == obj.GetGeneration()
}

// IsStalled reports whether the Stalled condition is True.
func IsStalled(obj ObjectWithConditions) bool {
	return IsTrue(obj, StalledCondition)
}

// IsReconciling reports whether the Reconciling condition is True.
func IsReconciling(obj ObjectWithConditions) bool {
	return IsTrue(obj, ReconcilingCondition)
}

// ReadyStatus returns the status, reason and message of the Ready condition,
// with status Unknown and empty reason and message when it is absent.
func ReadyStatus(obj ObjectWithConditions) (status metav1.ConditionStatus, reason, message string) {
	c := GetCondition(obj, ReadyCondition)
	if c == nil {
		return metav1.ConditionUnknown, "", ""
	}
	return c.Status, c.Reason, c.Message
}

// SetCondition adds c to the object's conditions or updates the condition of
// the same type, and reports whether anything changed. LastTransitionTime is
// set to now when the status changes (or kept from c when c sets it).
// ObservedGeneration is set to the object's generation when c leaves it 0, and
// the message is truncated to MaxConditionMessageLength.
func SetCondition(obj ObjectWithConditions, c metav1.Condition) bool {
	if c.ObservedGeneration == 0 {
		if g, ok := obj.(interface{ GetGeneration() int64 }); ok {
			c.ObservedGeneration = g.GetGeneration()
		}
	}
	c.Message = truncateMessage(c.Message)
	conditions := obj.GetConditions()
	changed := apimeta.SetStatusCondition(&conditions, c)
	obj.SetConditions(conditions)
	return changed
}

// MarkTrue sets the condition of type t to True.
func MarkTrue(obj ObjectWithConditions, t, reason, messageFormat string, args ...any) {
	mark(obj, t, metav1.ConditionTrue, reason, messageFormat, args)
}

// MarkFalse sets the condition of type t to False.
func MarkFalse(obj ObjectWithConditions, t, reason, messageFormat string, args ...any) {
	mark(obj, t, metav1.ConditionFalse, reason, messageFormat, args)
}

// MarkUnknown sets the condition of type t to Unknown.
func MarkUnknown(obj ObjectWithConditions, t, reason, messageFormat string, args ...any) {
	mark(obj, t, metav1.ConditionUnknown, reason, messageFormat, args)
}

// DeleteCondition removes the condition of type t and reports whether it was
// present.
func DeleteCondition(obj ObjectWithConditions, t string) bool {
	conditions := obj.GetConditions()
	removed := apimeta.RemoveStatusCondition(&conditions, t)
	if removed {
		obj.SetConditions(conditions)
	}
	return removed
}

func mark(obj ObjectWithConditions, t string, status metav1.ConditionStatus, reason, messageFormat string, args []any) {
	msg := messageFormat
	if len(args) > 0 {
		msg = fmt.Sprintf(messageFormat, args...)
	}
	SetCondition(obj, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg})
}

func truncateMessage(msg string) string {
	const suffix = "…"
	if len(msg) <= MaxConditionMessageLength {
		return msg
	}
	cut := MaxConditionMessageLength - len(suffix)
	// Do not cut a UTF-8 sequence in half.
	for cut > 0 && msg[cut]&0xC0 == 0x80 {
		cut--
	}
	return msg[:cut] + suffix
}
