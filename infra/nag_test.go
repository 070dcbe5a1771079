package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
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

// bedrockWildcards are the Bedrock resources as cdk-nag names them.
var bedrockWildcards = []string{
	"Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/*",
	"Resource::arn:<AWS::Partition>:bedrock:*:<AWS::AccountId>:inference-profile/*",
}

// nagFindings synthesizes a stack under cdk-nag's AwsSolutions pack, with
// nagSuppressions applied, and returns its unsuppressed errors and warnings
// and the findings it suppressed.
func nagFindings(t *testing.T, props *GatewayStackProps) (errors, warnings, suppressed []string) {
	t.Helper()
	props.AssetDir = assetDir(t)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := NewGatewayStack(app, "Nag", props)
	for _, s := range nagSuppressions {
		if len(s.reason) < 40 {
			t.Errorf("suppression of %s on %s: write down why (%q)", s.rule, s.path, s.reason)
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

// cdk-nag's AwsSolutions pack finds nothing it does not suppress with a
// reason, on a stack with everything optional turned on (Bedrock, the alarm
// topic and its e-mail subscription).
func TestAwsSolutionsChecksFindNothingUnsuppressed(t *testing.T) {
	errs, warns, suppressed := nagFindings(t, &GatewayStackProps{Bedrock: true,
		Monitoring: MonitoringProps{AlarmEmail: "ops@example.com"}})
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
			used = used || (strings.HasPrefix(f, "/Nag/"+sup.path+"/") && strings.Contains(f, sup.rule))
		}
		if !used {
			t.Errorf("suppression of %s on %s matches no finding: remove it", sup.rule, sup.path)
		}
	}
}
