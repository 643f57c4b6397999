// Command sts-caller asks STS who it is with the AWS SDK for Go v2's default credential chain and
// nothing else: the environment a pod was given decides everything (web identity token file, container
// credentials, AWS_ENDPOINT_URL_STS). It prints one JSON line, {"arn":...,"account":...,"userId":...}
// on success or {"error":...,"code":...} on failure (exit status 1), so a test can compare the Go SDK
// with the JavaScript one field by field.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	fail := func(err error) {
		code := ""
		var apiError smithy.APIError
		if errors.As(err, &apiError) {
			code = apiError.ErrorCode()
		}
		_ = out.Encode(map[string]string{"error": err.Error(), "code": code})
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	identity, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail(err)
	}
	_ = out.Encode(map[string]string{
		"arn":     aws.ToString(identity.Arn),
		"account": aws.ToString(identity.Account),
		"userId":  aws.ToString(identity.UserId),
	})
}
