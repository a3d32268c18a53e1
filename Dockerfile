# Builds the gatehouse binary into a small image. The binary is pure Go
# (SQLite through modernc.org/sqlite), so it runs on a distroless base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gatehouse ./cmd/gatehouse

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /gatehouse
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["/gatehouse"]
CMD ["serve"]
