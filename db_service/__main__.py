from db_service.main import main

main()
