from port_aws_exporter.cli import main

main()
