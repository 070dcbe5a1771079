package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagSuppression is one accepted AwsSolutions finding: the construct path
// under the stack, the rule, why the stack is right as it is, and for IAM5
// the wildcard resources it covers.
type nagSuppression struct {
	path, rule, reason string
	appliesTo          []string
}

// nagSuppressions are every finding the stack accepts. Each needs a reason
// a reviewer can check; add none without one.
var nagSuppressions = []nagSuppression{
	{
		path: "ProviderKeys", rule: "AwsSolutions-SMG4",
		reason: "The secret holds third-party provider API keys (OpenAI, Anthropic, ...) and the gateway's admin key; " +
			"Secrets Manager cannot rotate keys issued by another service, so they are rotated at the provider and " +
			"written with put-secret-value (infra/README.md).",
	},
	{
		path: "HttpApi/DefaultRoute", rule: "AwsSolutions-APIG4",
		reason: "The gateway authenticates every request itself with its virtual keys (GATEWAY_AUTH=true, set by the " +
			"stack); an API Gateway authorizer would add a second check and a Lambda invocation per request.",
	},
	{
		path: "RestApi/Default", rule: "AwsSolutions-APIG4",
		reason: "The gateway authenticates every request itself with its virtual keys (GATEWAY_AUTH=true, set by the " +
			"stack); an API Gateway authorizer would add a second check and a Lambda invocation per request.",
	},
	{
		path: "RestApi/Default", rule: "AwsSolutions-COG4",
		reason: "Callers are OpenAI-compatible clients holding the gateway's virtual keys (Bearer sk-gw-...), not " +
			"Cognito users; the gateway checks those keys on every request.",
	},
	{
		path: "RestApi/Resource", rule: "AwsSolutions-APIG2",
		reason: "The gateway validates every request itself (size, JSON, each endpoint's fields) and answers in the " +
			"OpenAI error shape clients parse; an API Gateway validator would need a model per route of a proxy " +
			"resource and would answer in its own shape.",
	},
	{
		path: "RestApi/CloudWatchRole", rule: "AwsSolutions-IAM4",
		reason: "The account-wide role API Gateway writes every REST API's logs with (one per account and region): " +
			"AWS's managed policy is the documented one, and execution log groups are named by API Gateway per " +
			"API and stage, so no narrower list exists in advance.",
		appliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
	},
	{
		path: "ApiRole", rule: "AwsSolutions-IAM5",
		reason: "Bedrock model and inference-profile ids are chosen per request by configuration; Converse needs " +
			"InvokeModel on the foundation model in whichever region a cross-region profile routes to.",
		appliesTo: bedrockWildcards,
	},
	{
		path: "StreamRole", rule: "AwsSolutions-IAM5",
		reason: "Bedrock model and inference-profile ids are chosen per request by configuration; ConverseStream needs " +
			"InvokeModelWithResponseStream on the foundation model in whichever region a cross-region profile routes to.",
		appliesTo: bedrockWildcards,
	},
}

// hasPath reports whether the construct at path (under the stack) exists.
func hasPath(stack awscdk.Stack, path string) bool {
	var c constructs.IConstruct = stack
	for _, id := range strings.Split(path, "/") {
		if c = c.Node().TryFindChild(jsii.String(id)); c == nil {
			return false
		}
	}
	return true
}

// bedrockWildcards are the Bedrock resources as cdk-nag names them.
var bedrockWildcards = []string{
	"Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/*",
	"Resource::arn:<AWS::Partition>:bedrock:*:<AWS::AccountId>:inference-profile/*",
}

// nagFindings synthesizes a stack under cdk-nag's AwsSolutions pack, with
// nagSuppressions and extra applied, and returns its unsuppressed errors and
// warnings and the findings it suppressed.
func nagFindings(t *testing.T, props *GatewayStackProps, extra ...nagSuppression) (errors, warnings, suppressed []string) {
	t.Helper()
	props.AssetDir = assetDir(t)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := NewGatewayStack(app, "Nag", props)
	for _, s := range append(slices.Clone(nagSuppressions), extra...) {
		if len(s.reason) < 40 {
			t.Errorf("suppression of %s on %s: write down why (%q)", s.rule, s.path, s.reason)
		}
		if !hasPath(stack, s.path) {
			continue // a part this stack leaves out (the HTTP API, Bedrock)
		}
		sup := &cdknag.NagPackSuppression{Id: jsii.String(s.rule), Reason: jsii.String(s.reason)}
		if len(s.appliesTo) > 0 {
			applies := make([]any, len(s.appliesTo))
			for i, a := range s.appliesTo {
				applies[i] = a
			}
			sup.AppliesTo = &applies
		}
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/Nag/"+s.path),
			&[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports: jsii.Bool(false), LogIgnores: jsii.Bool(true),
	}), nil)
	annotations := assertions.Annotations_FromStack(stack)
	render := func(msgs *[]*cxapi.SynthesisMessage) []string {
		var out []string
		for _, m := range *msgs {
			out = append(out, strings.TrimSpace(fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data)))
		}
		return out
	}
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	return render(annotations.FindError(jsii.String("*"), rule)), render(annotations.FindWarning(jsii.String("*"), rule)),
		render(annotations.FindInfo(jsii.String("*"), rule))
}

// everythingOn is a stack with every optional part turned on: Bedrock, the
// alarm topic and its e-mail subscription, the HTTP API, the REST API's
// custom domain and web ACL.
func everythingOn() *GatewayStackProps {
	return &GatewayStackProps{Bedrock: true, HTTPAPI: true,
		REST:       RESTAPIProps{DomainName: testDomain, CertificateARN: testCertificate, WebACLARN: testWebACL},
		Monitoring: MonitoringProps{AlarmEmail: "ops@example.com"}}
}

// cdk-nag's AwsSolutions pack finds nothing it does not suppress with a
// reason, on a stack with everything optional turned on.
func TestAwsSolutionsChecksFindNothingUnsuppressed(t *testing.T) {
	errs, warns, suppressed := nagFindings(t, everythingOn())
	if len(errs) > 0 {
		t.Errorf("cdk-nag AwsSolutions errors:\n%s", strings.Join(errs, "\n"))
	}
	if len(warns) > 0 {
		t.Errorf("cdk-nag AwsSolutions warnings:\n%s", strings.Join(warns, "\n"))
	}
	// A suppression nothing needs any more goes.
	for _, sup := range nagSuppressions {
		used := false
		for _, f := range suppressed {
			at := strings.HasPrefix(f, "/Nag/"+sup.path+"/") || strings.HasPrefix(f, "/Nag/"+sup.path+":")
			used = used || (at && strings.Contains(f, sup.rule))
		}
		if !used {
			t.Errorf("suppression of %s on %s matches no finding: remove it", sup.rule, sup.path)
		}
	}
}

// The default stack passes too; its one extra finding is the REST API stage
// without a web ACL, which is the operator's to add.
func TestTheDefaultStackPassesAwsSolutionsChecks(t *testing.T) {
	errs, warns, _ := nagFindings(t, &GatewayStackProps{}, nagSuppression{
		path: "RestApi/DeploymentStage.prod", rule: "AwsSolutions-APIG3",
		reason: "A web ACL is billed per month, per rule and per request, and its rules (rate-based, IP sets, " +
			"managed groups) are the operator's choice; RESTAPIProps.WebACLARN (-c webAclArn) associates one.",
	})
	if len(errs) > 0 {
		t.Errorf("cdk-nag AwsSolutions errors:\n%s", strings.Join(errs, "\n"))
	}
	if len(warns) > 0 {
		t.Errorf("cdk-nag AwsSolutions warnings:\n%s", strings.Join(warns, "\n"))
	}
}
