package imagepolicy

// RuleShape summarises a rule's requirements for tests.
type RuleShape struct {
	Simple int
	DCT    bool
	Checks bool
}

// Describe is RuleShape of r.
func Describe(r *Rule) RuleShape {
	var s RuleShape
	var walk func(q *Requirement)
	walk = func(q *Requirement) {
		if q.SimpleSigning != nil {
			s.Simple++
		}
		if q.DCT != nil {
			s.DCT = true
		}
		for i := range q.All {
			walk(&q.All[i])
		}
		for i := range q.Any {
			walk(&q.Any[i])
		}
	}
	walk(&r.Require)
	s.Checks = needsImage(&r.Require)
	return s
}
