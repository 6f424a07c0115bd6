package main

import (
	"context"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
)

// The roles the claim mapper hands out, kept in Claims.Extensions.
const (
	roleWorker = "worker"
	roleClient = "client"
)

// workerCommonName is the subject CN of the client certificate that makes a caller a worker.
const workerCommonName = "worker"

const workflowService = "/temporal.api.workflowservice.v1.WorkflowService/"

// workerOnlyAPIs are the calls that carry or hand out an activity's or workflow task's result: a
// poller receives task tokens and inputs, and a completion by ID writes an activity's result.
var workerOnlyAPIs = map[string]bool{}

func init() {
	for _, name := range []string{
		"RespondActivityTaskCompleted", "RespondActivityTaskCompletedById",
		"RespondActivityTaskFailed", "RespondActivityTaskFailedById",
		"RespondActivityTaskCanceled", "RespondActivityTaskCanceledById",
		"RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatById",
		"PollActivityTaskQueue", "PollWorkflowTaskQueue",
		"RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed", "RespondQueryTaskCompleted",
	} {
		workerOnlyAPIs[workflowService+name] = true
	}
}

// Signals the coordinator and its exports send each other, never a user's.
var internalSignals = map[string]bool{"setShare": true, "exportFinished": true}

// exportWorkflowType is started only by coordinators, which run on workers.
const exportWorkflowType = "exportResource"

// coordinatorPrefix names the accounts' coordinators, which no client may reset, terminate or reconfigure.
const coordinatorPrefix = "zendesk-account/"

// claimMapper gives the holder of the worker certificate the worker role and every other caller the
// client role. The frontend requires a client certificate (mutual TLS), so every caller has a subject.
type claimMapper struct{}

func (claimMapper) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	role := roleClient
	subject := ""
	if info.TLSSubject != nil {
		subject = info.TLSSubject.CommonName
		if subject == workerCommonName {
			role = roleWorker
		}
	}
	return &authorization.Claims{Subject: subject, Extensions: role, AuthType: "mtls"}, nil
}

// authorizer allows workers everything and denies clients the calls that would let them write what
// only a worker may: activity results, task polls, the coordinator's internal signals.
type authorizer struct{}

func (authorizer) Authorize(_ context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if claims != nil && claims.Extensions == roleWorker {
		return allow, nil
	}
	if reason := deniedToClients(target); reason != "" {
		return authorization.Result{Decision: authorization.DecisionDeny, Reason: reason}, nil
	}
	return allow, nil
}

var allow = authorization.Result{Decision: authorization.DecisionAllow}

// deniedToClients says why a non-worker may not make this call, or "" when it may.
func deniedToClients(target *authorization.CallTarget) string {
	if workerOnlyAPIs[target.APIName] {
		return strings.TrimPrefix(target.APIName, workflowService) + " is for workers only"
	}
	switch req := target.Request.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		return deniedSignal(req.GetSignalName())
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		if reason := deniedSignal(req.GetSignalName()); reason != "" {
			return reason
		}
		return deniedStart(req.GetWorkflowType().GetName())
	case *workflowservice.StartWorkflowExecutionRequest:
		return deniedStart(req.GetWorkflowType().GetName())
	case *workflowservice.ExecuteMultiOperationRequest:
		for _, op := range req.GetOperations() {
			if reason := deniedStart(op.GetStartWorkflow().GetWorkflowType().GetName()); reason != "" {
				return reason
			}
		}
	case *workflowservice.ResetWorkflowExecutionRequest:
		return deniedOnCoordinator("reset", req.GetWorkflowExecution().GetWorkflowId())
	case *workflowservice.TerminateWorkflowExecutionRequest:
		return deniedOnCoordinator("terminate", req.GetWorkflowExecution().GetWorkflowId())
	case *workflowservice.UpdateWorkflowExecutionOptionsRequest:
		return deniedOnCoordinator("reconfigure", req.GetWorkflowExecution().GetWorkflowId())
	}
	return ""
}

func deniedSignal(name string) string {
	if internalSignals[name] {
		return "the " + name + " signal is for workers only"
	}
	return ""
}

func deniedStart(workflowType string) string {
	if workflowType == exportWorkflowType {
		return "only coordinators start " + exportWorkflowType
	}
	return ""
}

func deniedOnCoordinator(action, workflowID string) string {
	if strings.HasPrefix(workflowID, coordinatorPrefix) {
		return "clients may not " + action + " an account's coordinator"
	}
	return ""
}
