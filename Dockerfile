# The reconciler image; goreleaser puts the built binary in the context.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/tether-reconciler /usr/local/bin/tether-reconciler
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tether-reconciler"]
